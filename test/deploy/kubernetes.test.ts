/**
 * The Kubernetes manifests of `deploy/kubernetes/`, offline: every document is validated against
 * the Kubernetes API schemas (`kubernetes-models`, generated from the Kubernetes OpenAPI
 * specification) and KEDA's CRD schemas (`@kubernetes-models/keda`), then checked for what the
 * server needs: the probes on the right routes, a grace period longer than the preStop pause plus
 * the drain, CPU requests equal to workers x threads, settings the server accepts, and selectors
 * and targets that point at the Deployment.
 */
import { ServerConfig } from "@adabatch/server"
import { describe, expect, it } from "@effect/vitest"
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject"
import { Result } from "effect"
import { Deployment } from "kubernetes-models/apps/v1/Deployment"
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler"
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget"
import { Service } from "kubernetes-models/v1/Service"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Yaml from "yaml"

const dir = fileURLToPath(new URL("../../deploy/kubernetes/", import.meta.url))

/** Validates a document against its kind's schema; throws with the schema errors. */
const models: Record<string, (doc: any) => { validate: () => void }> = {
  "apps/v1 Deployment": (d) => new Deployment(d),
  "v1 Service": (d) => new Service(d),
  "policy/v1 PodDisruptionBudget": (d) => new PodDisruptionBudget(d),
  "autoscaling/v2 HorizontalPodAutoscaler": (d) => new HorizontalPodAutoscaler(d),
  "keda.sh/v1alpha1 ScaledObject": (d) => new ScaledObject(d)
}

const documents = Fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")).flatMap((file) =>
  Yaml.parseAllDocuments(Fs.readFileSync(Path.join(dir, file), "utf8")).map((doc) => {
    expect(doc.errors, file).toEqual([])
    return { file, doc: doc.toJS() as any }
  })
)
const kindOf = (doc: any) => `${doc.apiVersion} ${doc.kind}`
const find = (kind: string) => {
  const found = documents.filter((d) => kindOf(d.doc) === kind)
  expect(found, kind).toHaveLength(1)
  return found[0]!.doc
}

describe("Kubernetes manifests", () => {
  it("every document is valid against its Kubernetes or KEDA schema", () => {
    expect(documents.map((d) => kindOf(d.doc)).sort()).toEqual(Object.keys(models).sort())
    for (const { doc, file } of documents) {
      expect(() => models[kindOf(doc)]!(doc).validate(), `${file}: ${kindOf(doc)}`).not.toThrow()
    }
  })

  it("the schemas catch a broken document", () => {
    const deployment = structuredClone(find("apps/v1 Deployment"))
    deployment.spec.replicas = "two"
    expect(() => new Deployment(deployment).validate()).toThrow(/replicas/)
    const scaled = structuredClone(find("keda.sh/v1alpha1 ScaledObject"))
    delete scaled.spec.scaleTargetRef
    expect(() => new ScaledObject(scaled).validate()).toThrow(/scaleTargetRef/)
  })

  it("the Deployment: probes, shutdown timing, CPU and settings the server accepts", () => {
    const deployment = find("apps/v1 Deployment")
    const pod = deployment.spec.template.spec
    expect(pod.containers).toHaveLength(1)
    const container = pod.containers[0]
    const env: Record<string, string> = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]))
    // the settings parse as the server parses them
    const known = new Set(ServerConfig.settings.map((s) => s.env))
    for (const name of Object.keys(env)) {
      if (name !== "ADABATCH_CACHE_DIR") expect(known.has(name), name).toBe(true)
    }
    const parsed = ServerConfig.parse(env, [])
    expect(Result.isSuccess(parsed), JSON.stringify(parsed)).toBe(true)
    const command = Result.getOrThrow(parsed)
    if (command._tag !== "Serve") throw new Error(command._tag)
    const config = command.config
    expect(config.host).toBe("0.0.0.0")
    // probes: readiness on /ready, liveness and start-up on /health, on the container's port
    const port = container.ports.find((p: any) => p.name === "http")
    expect(port.containerPort).toBe(config.port)
    expect(container.readinessProbe.httpGet).toEqual({ path: "/ready", port: "http" })
    expect(container.livenessProbe.httpGet).toEqual({ path: "/health", port: "http" })
    expect(container.startupProbe.httpGet).toEqual({ path: "/health", port: "http" })
    // /health waits up to 10 s for a worker's answer
    expect(container.livenessProbe.timeoutSeconds).toBeGreaterThan(10)
    const startup = container.startupProbe
    expect(startup.periodSeconds * startup.failureThreshold).toBeGreaterThanOrEqual(120)
    // shutdown: the preStop pause, then the drain, then 5 s for open connections, within the grace period
    const pause = Number(container.lifecycle.preStop.exec.command[1])
    expect(container.lifecycle.preStop.exec.command[0]).toBe("sleep")
    expect(pause).toBeGreaterThan(0)
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(pause + config.drainTimeoutMs / 1000 + 5)
    // CPU: one per inference thread
    expect(config.workers).toBeDefined()
    expect(config.threads).toBeDefined()
    expect(Number(container.resources.requests.cpu)).toBe(config.workers! * config.threads!)
    // the model cache on a volume
    expect(container.volumeMounts.map((m: any) => m.mountPath)).toContain(env["ADABATCH_CACHE_DIR"])
    expect(pod.securityContext.runAsNonRoot).toBe(true)
  })

  it("the Service, the budget and the autoscalers point at the Deployment", () => {
    const deployment = find("apps/v1 Deployment")
    const labels = deployment.spec.template.metadata.labels
    expect(deployment.spec.selector.matchLabels).toEqual(labels)
    const service = find("v1 Service")
    expect(service.spec.selector).toEqual(labels)
    expect(service.spec.ports[0].targetPort).toBe("http")
    expect(find("policy/v1 PodDisruptionBudget").spec.selector.matchLabels).toEqual(labels)
    for (const kind of ["autoscaling/v2 HorizontalPodAutoscaler", "keda.sh/v1alpha1 ScaledObject"]) {
      expect(find(kind).spec.scaleTargetRef, kind).toMatchObject({ kind: "Deployment", name: deployment.metadata.name })
    }
    // KEDA scales on the queue depth and the p95 queue wait, metrics the server exports
    const queries = find("keda.sh/v1alpha1 ScaledObject").spec.triggers
      .filter((t: any) => t.type === "prometheus").map((t: any) => t.metadata.query as string)
    expect(queries.some((q: string) => q.includes("adabatch_queue_depth"))).toBe(true)
    expect(
      queries.some((q: string) =>
        q.includes("histogram_quantile(0.95") && q.includes("adabatch_queue_wait_seconds_bucket")
      )
    )
      .toBe(true)
  })
})
