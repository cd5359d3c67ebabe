// Package kubernetes holds the Kubernetes manifests of smbsweep (a CronJob running an Indexed Job
// of scan shards, its targets ConfigMap and results volume; a Deployment, Service, ConfigMap and
// volume for serve); it has no code, and its tests check that the manifests parse and carry the
// fields the deployments rely on.
package kubernetes
