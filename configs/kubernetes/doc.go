// Package kubernetes holds the Kubernetes manifests of smbsweep (a CronJob running an Indexed Job
// of scan shards, its targets ConfigMap and results volume); it has no code, and its test checks
// that the manifests parse and carry the fields the deployment relies on.
package kubernetes
