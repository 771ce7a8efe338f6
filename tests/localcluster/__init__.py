"""An emulated Kubernetes API server (and, later, Elasticsearch and Kibana) for the collection's tests."""
