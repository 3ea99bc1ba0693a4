"""The HTTP transport: GraphQL over HTTP, GraphiQL, the token endpoint, health and metrics."""
