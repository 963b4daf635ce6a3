// Package kubernetes holds the Kubernetes manifests of a three-node Cairn
// cluster and its agent (the YAML files of this directory, applied with
// kubectl apply -f deploy/kubernetes/). Its test decodes every manifest
// strictly into its Kubernetes API type and checks what the cluster needs
// of it.
package kubernetes
