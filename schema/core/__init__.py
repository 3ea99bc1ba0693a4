"""What belongs to no single area: the `node(id:)` root field (made by schema assembly from
every area's NODE_TYPES) and the types several areas share (Address, AddressInput)."""
