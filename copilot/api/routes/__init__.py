"""The API's routes by area; each route is a plain function of its inputs and the service."""
