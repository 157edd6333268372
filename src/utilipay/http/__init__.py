"""The HTTP plumbing every area's API shares, below the areas: JSON and problem+json
answers, the shared input types checked at the edge, the OpenAPI document's completion,
how a refusal is answered. Nothing here knows a business area."""
