// The recommended Kubernetes labels every rendered object carries: which application, which instance (the
// resource's name). One definition for every kind.
export const APP_NAME_LABEL = "app.kubernetes.io/name";
export const APP_INSTANCE_LABEL = "app.kubernetes.io/instance";
