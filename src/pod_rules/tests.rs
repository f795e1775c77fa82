use super::*;
use rstest::rstest;
use serde_json::json;

/// The problem `sidecar` has in `pod`, placed so.
fn problem(sidecar: Value, placement: Placement, pod: Value) -> Option<String> {
    let view = PodView::read(&pod).unwrap();
    let side = PodSide::of(&view);
    refused(
        sidecar.as_object().unwrap(),
        placement,
        side,
        &view,
        "proxy",
    )
}

fn pod(spec: Value, annotations: Value) -> Value {
    let mut spec = spec;
    spec["containers"] = json!([{"name": "app", "image": "app:1"}]);
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "annotations": annotations}, "spec": spec})
}

#[rstest]
#[case::host_port_in_host_network(
    json!({"ports": [{"containerPort": 15001}, {"containerPort": 80, "hostPort": 8080}]}),
    Placement::Trailing, json!({"hostNetwork": true}), json!({}),
    Some("has ports[1].hostPort 8080 and containerPort 80, which the API server refuses in a Pod with spec.hostNetwork: true (they must be equal); set hostPort to containerPort or remove it in the set, or keep the set out of host-network Pods (hostNetworkPods)"))]
#[case::host_port_equal(json!({"ports": [{"containerPort": 80, "hostPort": 80}]}),
    Placement::Leading, json!({"hostNetwork": true}), json!({}), None)]
#[case::host_port_without_host_network(json!({"ports": [{"containerPort": 80, "hostPort": 8080}]}),
    Placement::Leading, json!({}), json!({}), None)]
// The rule reads spec.containers only.
#[case::host_port_of_a_native_sidecar(json!({"ports": [{"containerPort": 80, "hostPort": 8080}]}),
    Placement::NativeSidecar, json!({"hostNetwork": true}), json!({}), None)]
#[case::restart_container_in_a_never_pod(
    json!({"resizePolicy": [{"resourceName": "cpu", "restartPolicy": "NotRequired"}, {"resourceName": "memory", "restartPolicy": "RestartContainer"}]}),
    Placement::NativeSidecar, json!({"restartPolicy": "Never"}), json!({}),
    Some("has resizePolicy[1].restartPolicy \"RestartContainer\", which the API server refuses in a Pod with spec.restartPolicy: Never (only NotRequired); use NotRequired in the set, or keep the set out of such Pods (its selector)"))]
#[case::restart_container_in_an_always_pod(
    json!({"resizePolicy": [{"resourceName": "memory", "restartPolicy": "RestartContainer"}]}),
    Placement::NativeSidecar, json!({"restartPolicy": "Always"}), json!({}), None)]
#[case::unmasked_proc(json!({"securityContext": {"procMount": "Unmasked"}}),
    Placement::NativeSidecar, json!({}), json!({}),
    Some("sets securityContext.procMount: Unmasked, which the API server accepts only in a Pod with spec.hostUsers: false; remove it from the set's container, or keep the set out of such Pods (its selector)"))]
#[case::unmasked_proc_in_a_user_namespace(json!({"securityContext": {"procMount": "Unmasked"}}),
    Placement::NativeSidecar, json!({"hostUsers": false}), json!({}), None)]
#[case::default_proc(json!({"securityContext": {"procMount": "Default"}}),
    Placement::NativeSidecar, json!({}), json!({}), None)]
#[case::sidecar_in_a_host_process_pod(json!({}), Placement::NativeSidecar,
    json!({"os": {"name": "windows"}, "hostNetwork": true}), json!({}), None)]
#[case::host_process_disagrees_with_the_pod(
    json!({"securityContext": {"windowsOptions": {"hostProcess": false}}}), Placement::NativeSidecar,
    json!({"securityContext": {"windowsOptions": {"hostProcess": true}}, "hostNetwork": true}), json!({}),
    Some("sets securityContext.windowsOptions.hostProcess: false and the Pod's spec.securityContext.windowsOptions.hostProcess is true, which the API server refuses (they must agree); remove it from the set's container, or keep the set out of such Pods (its selector)"))]
#[case::inherits_the_pods_host_process(json!({}), Placement::NativeSidecar,
    json!({"securityContext": {"windowsOptions": {"hostProcess": true}}, "hostNetwork": true}), json!({}), None)]
#[case::host_process_sidecar_in_a_plain_pod(
    json!({"securityContext": {"windowsOptions": {"hostProcess": true}}}), Placement::NativeSidecar,
    json!({}), json!({}),
    Some("is a HostProcess container and the Pod's containers are not, which the API server refuses (a Pod's containers are all HostProcess containers or none: securityContext.windowsOptions.hostProcess); keep the set out of such Pods (its selector)"))]
#[case::seccomp_annotation_names_the_sidecar(json!({}), Placement::NativeSidecar, json!({}),
    json!({"container.seccomp.security.alpha.kubernetes.io/proxy": "unconfined"}),
    Some("is named by the Pod's annotation container.seccomp.security.alpha.kubernetes.io/proxy, which the API server applies to that container and checks against its securityContext, and a sidecar's security profile is its set's to decide; remove the annotation from the Pod (its securityContext fields set the app containers' profiles)"))]
#[case::apparmor_annotation_names_the_sidecar(json!({}), Placement::Trailing, json!({}),
    json!({"container.apparmor.security.beta.kubernetes.io/proxy": "unconfined"}),
    Some("is named by the Pod's annotation container.apparmor.security.beta.kubernetes.io/proxy, which the API server applies to that container and checks against its securityContext, and a sidecar's security profile is its set's to decide; remove the annotation from the Pod (its securityContext fields set the app containers' profiles)"))]
#[case::annotation_names_an_app_container(json!({}), Placement::NativeSidecar, json!({}),
    json!({"container.seccomp.security.alpha.kubernetes.io/app": "runtime/default",
        "container.seccomp.security.alpha.kubernetes.io/proxy-2": "unconfined"}), None)]
fn rules(
    #[case] sidecar: Value,
    #[case] placement: Placement,
    #[case] spec: Value,
    #[case] annotations: Value,
    #[case] expected: Option<&str>,
) {
    assert_eq!(
        problem(sidecar, placement, pod(spec, annotations)).as_deref(),
        expected
    );
}

#[test]
fn a_host_process_pod_refuses_a_plain_sidecar() {
    let mut p = pod(json!({"hostNetwork": true}), json!({}));
    p["spec"]["containers"][0]["securityContext"] =
        json!({"windowsOptions": {"hostProcess": true}});
    assert_eq!(
        problem(json!({}), Placement::NativeSidecar, p).as_deref(),
        Some(
            "is not a HostProcess container and the Pod's containers are, which the API server refuses (a Pod's containers are all HostProcess containers or none: securityContext.windowsOptions.hostProcess); keep the set out of HostProcess Pods (its selector)"
        )
    );
}
