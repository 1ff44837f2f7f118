"""kind's side of pytest-pods, usable without pytest: the Docker and kind command lines
(:mod:`.tools`), kind itself built from the Go module proxy, and an offline kind node image
assembled from the local cluster's Kubernetes build and Debian packages (:mod:`.node`)."""
