// A small SPARTA client, type-checked against the OpenAPI document (`npm run typecheck`):
// `src/schema.d.ts` is generated from it by openapi-typescript (`npm run gen`; CI checks it is
// current), and openapi-fetch turns the types into typed requests and answers.
//
// Run against a live server (`npm run build && node dist/client.js URL KEY EXAMPLES_DIR`): it
// submits every example request of the folder whose kind the server serves and prints how each
// job ended; the exit status is 1 unless all succeeded.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema";

export type SubmitJobRequest = components["schemas"]["SubmitJobRequest"];
export type Job = components["schemas"]["JobView"];
export type JobKind = components["schemas"]["JobKind"];

/** A client for one tenant's API key. */
export function sparta(baseUrl: string, apiKey: string): Client<paths> {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${apiKey}` } });
}

/** Submits a job and long-polls it until it ends (succeeded, failed or cancelled). */
export async function submitAndWait(api: Client<paths>, body: SubmitJobRequest): Promise<Job> {
  const submitted = await api.POST("/v1/jobs", { body });
  if (submitted.error) {
    const reasons = submitted.error.errors.map((e) => `${e.code} at ${e.field ?? "(body)"}: ${e.message}`);
    throw new Error(`submit refused: ${reasons.join("; ")}`);
  }
  let job = submitted.data.data[0];
  while (job && (job.status === "queued" || job.status === "running")) {
    const read = await api.GET("/v1/jobs/{id}", { params: { path: { id: job.id }, query: { wait: 30 } } });
    if (read.error) throw new Error(`read failed: ${read.error.errors[0]?.message ?? "no error"}`);
    job = read.data.data[0];
  }
  if (!job) throw new Error("an answer without its job");
  return job;
}

// A typed request: the kind picks the input type (a `split` with this input does not compile).
export const nutrition: SubmitJobRequest = {
  kind: "nutrition",
  input: {
    athlete: { id: "athlete-42", experience: "intermediate", goal: "hypertrophy", sex: "female", age: 31, bodyweight_kg: 64.5 },
    phase: "cut",
    meals_per_day: 4,
    diet: "vegetarian",
  },
};

// @ts-expect-error the document ties each kind to its own input: a split needs days_per_week and style
export const mismatched: SubmitJobRequest = { kind: "split", input: nutrition.input };

/** A job's output is narrowed by its `kind`: a nutrition job's protein target, typed. */
export function proteinTarget(job: Job): number | undefined {
  if (job.kind === "nutrition" && job.output) {
    return job.output.protein_g_per_day;
  }
  if (job.kind === "split" && job.output) {
    // @ts-expect-error a split's output has no protein target: the kind narrowed it
    return job.output.protein_g_per_day;
  }
  return undefined;
}

async function main(): Promise<number> {
  const [baseUrl, apiKey, examples] = process.argv.slice(2);
  if (!baseUrl || !apiKey || !examples) {
    console.error("usage: node dist/client.js BASE_URL API_KEY EXAMPLES_DIR");
    return 2;
  }
  const api = sparta(baseUrl, apiKey);
  const kinds = await api.GET("/v1/kinds");
  if (kinds.error) throw new Error(`kinds: ${kinds.error.errors[0]?.message ?? ""}`);
  const served = new Set<string>(kinds.data.data.map((k) => k.kind));
  let failed = 0;
  for (const file of readdirSync(examples).filter((f) => f.endsWith(".json")).sort()) {
    // The files are the contract's examples; the server checks them as it checks any body.
    const body = JSON.parse(readFileSync(join(examples, file), "utf8")) as SubmitJobRequest;
    if (!served.has(body.kind)) continue;
    const job = await submitAndWait(api, body);
    const protein = proteinTarget(job);
    console.log(`${file}: ${job.kind} ${job.status}${protein === undefined ? "" : `, ${protein} g protein a day`}`);
    if (job.status !== "succeeded") failed += 1;
  }
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
