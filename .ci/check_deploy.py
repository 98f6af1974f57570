"""The deployment files' invariants, beyond what the Kubernetes schema says (.ci/check_deploy.sh).

  check_deploy.py stand-ins DIR          fills in, under a copy of deploy/kubernetes, every file
                                         an overlay's generators read and the repo lacks (secrets)
  check_deploy.py k8s NAME=RENDERED...   checks rendered overlays, prints objects per kind
  check_deploy.py compose RESOLVED       checks `docker-compose config` output

Exits 1 with one line per problem.
"""

import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
SERVICES = ["registry", "filing", "vendor", "routing", "inspection"]
APPS = SERVICES + ["gateway"]
PORT = {"registry": 50061, "filing": 50062, "vendor": 50063, "routing": 50064,
        "inspection": 50065, "gateway": 50051}
# Who calls whom over gRPC: the NetworkPolicies must allow exactly this, both ways.
CALLS = {
    "gateway": set(SERVICES),
    "registry": set(),
    "filing": {"registry", "inspection"},
    "vendor": {"registry", "filing"},
    "routing": {"registry"},
    "inspection": {"registry", "routing", "vendor", "filing"},
}
# Ports a pod may reach at any address: PostgreSQL, Redis, the OTLP collector, DNS; inspection
# also fetches feeds and probes links on the internet.
OUTSIDE = {app: {5432, 6379, 4317, 53} for app in APPS}
OUTSIDE["inspection"] |= {80, 443}
OUTSIDE["migrate"] = {5432, 53}
PRIVATE = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"}
# The grpc.health.v1 service each app's probes ask for: "" (the whole server) for the five
# services; on the gateway "" is the whole SUITE's health, so its probes ask for its own.
HEALTH_SERVICE = {app: "" for app in SERVICES}
HEALTH_SERVICE["gateway"] = "govmedia.gateway"

problems = []


def problem(where, text):
    problems.append(f"{where}: {text}")


# --- Configuration names: every GOVMEDIA_* variable is read as configuration, and the binary
# refuses unknown keys, so a misspelt name stops the service at start. -----------------------
def _config_names():
    kit = (ROOT / "crates/kit/src/config.rs").read_text()
    block = lambda name: re.search(name + r"[^=]*=\s*&\[(.*?)\];", kit, re.S).group(1)
    non_config = set(re.findall(r'"([a-z_]+)"', block("NON_CONFIG_ENV")))
    aliases = set(re.findall(r'\("([a-z_]+)",', block("ENV_ALIASES")))
    sections = set(re.findall(r"pub (\w+):", (ROOT / "services/govmedia/src/settings.rs").read_text()))
    return non_config | aliases, sections


def config_name_problem(name):
    """Why `name` is no configuration key the binary knows, or None."""
    if not name.startswith("GOVMEDIA_"):
        return None
    plain, sections = _config_names()
    key = name[len("GOVMEDIA_"):].lower()
    if key in plain:
        return None
    path = key.split("__")
    if path[0] not in sections:
        return f"{name}: no configuration section {path[0]!r}"
    source = ROOT / f"services/{path[0]}/src/config.rs"
    if not source.exists():
        source = ROOT / "crates/kit/src/config.rs"
    text = source.read_text()
    for segment in path[1:]:
        field = re.search(rf"pub {segment}: (\w+)", text)
        if not field:
            return f"{name}: no key {segment!r} in {source.relative_to(ROOT)}"
        if field.group(1) in ("BTreeMap", "HashMap"):
            return None  # map keys are free
    return None


# --- Stand-ins for the operator's secret files. ------------------------------------------------
def stand_ins(directory):
    overlays = pathlib.Path(directory) / "overlays"
    for kustomization in sorted(overlays.glob("*/kustomization.yaml")):
        doc = yaml.safe_load(kustomization.read_text())
        for generator in doc.get("secretGenerator", []) + doc.get("configMapGenerator", []):
            for entry in generator.get("files", []):
                path = kustomization.parent / entry.split("=", 1)[-1]
                if not path.exists():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text("check_deploy stand-in, not a real secret")


# --- Kubernetes. ------------------------------------------------------------------------------
def matches(selector, labels):
    """Whether a label selector (matchLabels / matchExpressions In) selects `labels`."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        if expression["operator"] != "In":
            raise ValueError(f"unsupported selector operator {expression['operator']}")
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def env_settings(container, config_maps, where):
    """The container's environment as name -> value (None for values from Secrets)."""
    values = {}
    for source in container.get("envFrom", []):
        name = source.get("configMapRef", {}).get("name")
        if name not in config_maps:
            problem(where, f"envFrom names no rendered ConfigMap: {source}")
            continue
        values.update(config_maps[name])
    for variable in container.get("env", []):
        values[variable["name"]] = variable.get("value")
    for name in values:
        why = config_name_problem(name)
        if why:
            problem(where, why)
    return values


def check_pod(where, pod, container):
    security = pod.get("securityContext", {})
    own = container.get("securityContext", {})
    if not (own.get("runAsNonRoot", security.get("runAsNonRoot"))):
        problem(where, "runAsNonRoot is not set")
    seccomp = own.get("seccompProfile", security.get("seccompProfile", {}))
    if seccomp.get("type") != "RuntimeDefault":
        problem(where, "seccompProfile is not RuntimeDefault")
    if own.get("readOnlyRootFilesystem") is not True:
        problem(where, "readOnlyRootFilesystem is not true")
    if own.get("allowPrivilegeEscalation") is not False:
        problem(where, "allowPrivilegeEscalation is not false")
    if "ALL" not in own.get("capabilities", {}).get("drop", []):
        problem(where, "capabilities do not drop ALL")
    if pod.get("automountServiceAccountToken") is not False:
        problem(where, "automountServiceAccountToken is not false")
    if pod.get("enableServiceLinks") is not False:
        problem(where, "enableServiceLinks is not false (service links add GOVMEDIA_* variables)")
    resources = container.get("resources", {})
    for kind in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            if resource not in resources.get(kind, {}):
                problem(where, f"no {kind}.{resource}")


def check_probes(where, app, container, grace):
    """Every probe is grpc.health.v1 on the app's own gRPC port, asking for its health service."""
    ports = {p["containerPort"] for p in container.get("ports", [])}
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = container.get(kind)
        if not probe:
            problem(where, f"no {kind}")
            continue
        others = sorted(set(probe) & {"httpGet", "tcpSocket", "exec"})
        grpc = probe.get("grpc")
        if grpc is None or others:
            problem(where, f"{kind} is not a gRPC probe ({', '.join(others) or 'no grpc'})")
            continue
        port = grpc.get("port")
        if port != PORT[app] or port not in ports:
            problem(where, f"{kind} probes port {port}, not its own gRPC port {PORT[app]} "
                           f"(the container's: {sorted(ports)})")
        service = grpc.get("service") or ""
        if service != HEALTH_SERVICE[app]:
            problem(where, f"{kind} asks for health service {service!r}, not {HEALTH_SERVICE[app]!r}")
    liveness = container.get("livenessProbe") or {}
    window = liveness.get("periodSeconds", 10) * liveness.get("failureThreshold", 3)
    if liveness and window < grace:
        problem(where, f"liveness gives up after {window} s, within the {grace} s of a graceful stop")


def check_k8s(name, docs):
    by_kind = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
    config_maps = {d["metadata"]["name"]: d.get("data", {}) for d in by_kind.get("ConfigMap", [])}
    deployments = {d["metadata"]["name"]: d for d in by_kind.get("Deployment", [])}
    policies = by_kind.get("NetworkPolicy", [])
    pods = {}  # app name -> pod labels, for the NetworkPolicy checks

    for app in APPS:
        if app not in deployments:
            problem(name, f"no Deployment {app}")
    for dep_name, deployment in deployments.items():
        where = f"{name} Deployment/{dep_name}"
        pod = deployment["spec"]["template"]["spec"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        app = labels.get("app.kubernetes.io/name")
        if labels.get("app.kubernetes.io/part-of") != "govmedia":
            continue  # the dev overlay's own databases
        pods[app] = labels
        container = pod["containers"][0]
        check_pod(where, pod, container)
        env = env_settings(container, config_maps, where)
        grace = pod.get("terminationGracePeriodSeconds", 30)
        try:
            stop = (int(env["GOVMEDIA_LISTEN__SHUTDOWN_DELAY_MS"])
                    + int(env["GOVMEDIA_LISTEN__DRAIN_TIMEOUT_MS"])) / 1000
            if grace <= stop:
                problem(where, f"terminationGracePeriodSeconds {grace} <= shutdown delay + drain {stop} s")
        except (KeyError, TypeError, ValueError):
            problem(where, "GOVMEDIA_LISTEN__SHUTDOWN_DELAY_MS and __DRAIN_TIMEOUT_MS must be set")
        check_probes(where, app, container, grace)
        if not any(matches(p["spec"]["selector"], labels) for p in by_kind.get("PodDisruptionBudget", [])):
            problem(where, "no PodDisruptionBudget selects its pods")
        scalers = [h for h in by_kind.get("HorizontalPodAutoscaler", [])
                   if h["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": dep_name}]
        if len(scalers) != 1:
            problem(where, f"{len(scalers)} HorizontalPodAutoscalers scale it, not one")
        elif not 1 <= scalers[0]["spec"].get("minReplicas", 1) <= scalers[0]["spec"]["maxReplicas"]:
            problem(where, "HorizontalPodAutoscaler bounds are inverted")

    jobs = [j for j in by_kind.get("Job", []) if j["spec"]["template"]["spec"]["containers"][0].get("args") == ["migrate"]]
    if len(jobs) != 1:
        problem(name, "no single `govmedia migrate` Job")
    for job in jobs:
        where = f"{name} Job/{job['metadata']['name']}"
        for field in ("backoffLimit", "ttlSecondsAfterFinished"):
            if field not in job["spec"]:
                problem(where, f"no {field}")
        pod = job["spec"]["template"]["spec"]
        check_pod(where, pod, pod["containers"][0])
        env_settings(pod["containers"][0], config_maps, where)
        pods["migrate"] = job["spec"]["template"]["metadata"]["labels"]

    # Services: the five are headless (callers balance per call); only the gateway has an address.
    for service in by_kind.get("Service", []):
        app = service["spec"].get("selector", {}).get("app.kubernetes.io/name")
        if app not in APPS:
            continue
        headless = service["spec"].get("clusterIP") == "None"
        if service["spec"].get("type", "ClusterIP") != "ClusterIP":
            problem(f"{name} Service/{service['metadata']['name']}", "exposed beyond the cluster; leave that to the operator's Ingress")
        if headless == (app == "gateway"):
            problem(f"{name} Service/{service['metadata']['name']}", "the five services are headless, the gateway's is not")
    for ingress in by_kind.get("Ingress", []):
        for backend in re.findall(r"'name': '([^']+)'", str(ingress["spec"])):
            if backend != "gateway":
                problem(f"{name} Ingress/{ingress['metadata']['name']}", f"routes to {backend}")

    # NetworkPolicies: deny by default, then exactly the call graph, and outside only as allowed.
    if not any(set(p["spec"].get("policyTypes", [])) >= {"Ingress", "Egress"}
               and not p["spec"].get("ingress") and not p["spec"].get("egress")
               and all(matches(p["spec"]["podSelector"], labels) for labels in pods.values())
               for p in policies):
        problem(name, "no default-deny NetworkPolicy selecting every govmedia pod")
    callers = {app: set() for app in pods}
    callees = {app: set() for app in pods}
    for policy in policies:
        selected = [app for app, labels in pods.items() if matches(policy["spec"]["podSelector"], labels)]
        where = f"{name} NetworkPolicy/{policy['metadata']['name']}"
        for rule in policy["spec"].get("ingress") or []:
            peers = rule.get("from") or []
            ports = {p.get("port") for p in rule.get("ports") or [{}]}
            if not peers or any(set(peer) - {"podSelector"} for peer in peers):
                if set(selected) - {"gateway"}:
                    problem(where, f"opens {sorted(selected)} to outside callers")
                continue
            for peer in peers:
                for app, labels in pods.items():
                    if matches(peer["podSelector"], labels):
                        for target in selected:
                            callers[target].add(app)
                            if ports != {PORT.get(target)}:
                                problem(where, f"lets {app} reach {target} on ports {ports}")
        for rule in policy["spec"].get("egress") or []:
            peers = rule.get("to") or []
            ports = {p.get("port") for p in rule.get("ports") or [{}]}
            if not peers or any(set(peer) - {"podSelector"} for peer in peers):
                for app in selected:
                    if not ports <= OUTSIDE[app]:
                        problem(where, f"lets {app} reach any address on ports {sorted(ports - OUTSIDE[app], key=str)}")
                for peer in peers:
                    cidr = peer.get("ipBlock", {}).get("cidr")
                    if cidr == "0.0.0.0/0" and not PRIVATE <= set(peer["ipBlock"].get("except", [])):
                        problem(where, f"internet egress does not except {sorted(PRIVATE)}")
                continue
            for peer in peers:
                for app, labels in pods.items():
                    if matches(peer["podSelector"], labels):
                        for source in selected:
                            callees[source].add(app)
                            if ports != {PORT.get(app)}:
                                problem(where, f"lets {source} reach {app} on ports {ports}")
    for app in pods:
        expected_callees = CALLS.get(app, set())
        expected_callers = {c for c, called in CALLS.items() if app in called}
        if callees[app] != expected_callees:
            problem(name, f"{app} may call {sorted(callees[app])}, it calls {sorted(expected_callees)}")
        if callers[app] != expected_callers:
            problem(name, f"{app} may be called by {sorted(callers[app])}, its callers are {sorted(expected_callers)}")

    summary = ", ".join(f"{len(v)} {k}" for k, v in sorted(by_kind.items()))
    print(f"  {name}: {len(docs)} objects: {summary}")


# --- Compose. ---------------------------------------------------------------------------------
def check_compose(path):
    compose = yaml.safe_load(pathlib.Path(path).read_text())
    services = compose["services"]
    for name, service in services.items():
        where = f"compose {name}"
        if service.get("ports") and name != "gateway":
            problem(where, "publishes ports; only the gateway does")
        env = service.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.split("=", 1) for item in env)
        for variable in env:
            why = config_name_problem(variable)
            if why:
                problem(where, why)
        command = service.get("command") or []
        if command[:1] != ["serve"]:
            continue
        app = command[1]
        listen = env.get("GOVMEDIA_GATEWAY__LISTEN" if app == "gateway" else f"GOVMEDIA_{app.upper()}__LISTEN", "")
        if not listen.endswith(f":{PORT[app]}") or env.get("HEALTHCHECK_PORT") != str(PORT[app]):
            problem(where, f"listen {listen!r} and HEALTHCHECK_PORT {env.get('HEALTHCHECK_PORT')!r} must both be port {PORT[app]}")
        # The image's HEALTHCHECK asks for HEALTHCHECK_SERVICE (empty: the whole server).
        if (env.get("HEALTHCHECK_SERVICE") or "") != HEALTH_SERVICE[app]:
            problem(where, f"HEALTHCHECK_SERVICE is {env.get('HEALTHCHECK_SERVICE')!r}, "
                           f"not {HEALTH_SERVICE[app] or 'unset'!r}")
        grace = service.get("stop_grace_period", "10s")
        seconds = int(grace.rstrip("s")) if re.fullmatch(r"\d+s", grace) else 0
        stop = (int(env.get("GOVMEDIA_LISTEN__SHUTDOWN_DELAY_MS", 0)) + int(env.get("GOVMEDIA_LISTEN__DRAIN_TIMEOUT_MS", 30000))) / 1000
        if seconds <= stop:
            problem(where, f"stop_grace_period {grace} <= shutdown delay + drain {stop} s")
        for one_shot in ("migrate", "keys"):
            if (service.get("depends_on") or {}).get(one_shot, {}).get("condition") != "service_completed_successfully":
                problem(where, f"does not wait for {one_shot} to complete")
    apps = {s["command"][1] for s in services.values() if (s.get("command") or [])[:1] == ["serve"]}
    if apps != set(APPS):
        problem("compose", f"serves {sorted(apps)}, not {sorted(APPS)}")
    redis = " ".join(services.get("redis", {}).get("command") or [])
    if "--appendonly yes" not in redis or "--appendfsync everysec" not in redis:
        problem("compose redis", "event streams need --appendonly yes --appendfsync everysec")
    # HEALTHCHECK_PORT and HEALTHCHECK_SERVICE mean something only if the image's HEALTHCHECK reads them.
    dockerfile = (ROOT / "deploy/Dockerfile").read_text().replace("\\\n", " ")  # joined lines
    healthcheck = re.search(r"^HEALTHCHECK .*?CMD (.*?)$", dockerfile, re.M | re.S)
    command = healthcheck.group(1) if healthcheck else ""
    for part in ('--addr "127.0.0.1:${HEALTHCHECK_PORT', '--service "${HEALTHCHECK_SERVICE:-}"'):
        if part not in command:
            problem("deploy/Dockerfile", f"the HEALTHCHECK does not pass {part}")
    print(f"  compose: {len(services)} services: {', '.join(services)}")


def main(argv):
    command, args = argv[1], argv[2:]
    if command == "stand-ins":
        stand_ins(args[0])
    elif command == "k8s":
        for arg in args:
            name, path = arg.split("=", 1)
            check_k8s(name, [d for d in yaml.safe_load_all(open(path)) if d])
    elif command == "compose":
        check_compose(args[0])
    else:
        sys.exit(f"unknown command {command}")
    for line in problems:
        print(f"PROBLEM {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
