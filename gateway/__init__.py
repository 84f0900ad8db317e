"""The gateway: GraphQL API, web app, sessions."""
