// Talks to the citybooks JSON API (`citybooks serve`): builds URLs, their
// `.csv` twins, babbage cut strings, and turns error answers into ApiError.
//
//   const answer = await getJson("/api/cubes/sf-spending-revenue/aggregate",
//                                { drilldown: "fiscal_year", cut: cutString([["fiscal_year", 2020]]) });
//   csvUrl("/api/models/outliers", { dataset: "phoenix-checkbook" })

export class ApiError extends Error {
  constructor(message, { parameter = "", status = 0 } = {}) {
    super(message);
    this.parameter = parameter;
    this.status = status;
  }
}

// path?k=v&… with empty values left out; spaces as %20, never "+".
export function apiUrl(path, params = {}) {
  const query = Object.entries(params)
    .filter(([, value]) => value !== undefined && value !== null && value !== "")
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
    .join("&");
  return query ? `${path}?${query}` : path;
}

// The CSV variant of a tabular endpoint: the same path plus ".csv", the same parameters.
export function csvUrl(path, params = {}) {
  return apiUrl(`${path}.csv`, params);
}

// Babbage cuts: [[ref, value], …] -> `ref:"text"|fiscal_year:2020`. Numbers
// stay bare, text is quoted (a `"` inside is escaped as `\"`), a value given
// as {from, to} becomes a range `from-to`, and an array of values matches any
// of them (`ref:"a";"b"`).
export function cutString(cuts) {
  const one = (value) => {
    if (typeof value === "number") return String(value);
    if (value && typeof value === "object") return `${value.from}-${value.to}`;
    return `"${String(value).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  };
  return cuts
    .map(([ref, value]) => `${ref}:${Array.isArray(value) ? value.map(one).join(";") : one(value)}`)
    .join("|");
}

async function readAnswer(response, url) {
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = body && body.error;
    const message = error && error.message
      ? error.message
      : `${url} answered HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ""}`;
    throw new ApiError(message, { parameter: error ? error.parameter : "", status: response.status });
  }
  if (body === null) throw new ApiError(`${url} did not answer JSON`, { status: response.status });
  return body;
}

export async function getJson(path, params = {}) {
  const url = apiUrl(path, params);
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" } });
  } catch (error) {
    throw new ApiError(`Cannot reach the citybooks server for ${url}: ${error.message}`);
  }
  return readAnswer(response, url);
}

export async function postJson(path, body) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(`Cannot reach the citybooks server for ${path}: ${error.message}`);
  }
  return readAnswer(response, path);
}

// POSTs and returns the answer as a Blob (for CSV downloads of POST endpoints).
export async function postForBlob(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/csv" },
    body: JSON.stringify(body),
  });
  if (!response.ok) await readAnswer(response, path);
  return response.blob();
}

// Datasets are read once per page load.
let datasetsPromise = null;
export function datasets() {
  if (!datasetsPromise) {
    datasetsPromise = getJson("/api/datasets").then((answer) => answer.datasets ?? []);
    datasetsPromise.catch(() => { datasetsPromise = null; });
  }
  return datasetsPromise;
}

// Cube models are read once per dataset.
const cubeModels = new Map();
export function cubeModel(dataset) {
  if (!cubeModels.has(dataset)) {
    const promise = getJson(`/api/cubes/${encodeURIComponent(dataset)}/model`);
    cubeModels.set(dataset, promise);
    promise.catch(() => cubeModels.delete(dataset));
  }
  return cubeModels.get(dataset);
}

// The fact fields worth listing: time columns, then the name of every
// hierarchy level (not the codes), then the amount — as a `fields` parameter.
export function factFields(model) {
  const dimensions = Object.values(model?.model?.dimensions ?? {});
  const refsOf = (dimension) => (dimension.hierarchy ?? [])
    .map((attribute) => dimension.attributes?.[attribute]?.ref)
    .filter(Boolean);
  const isTime = (dimension) => dimension.time === true || refsOf(dimension).every((ref) => !ref.includes("."));
  const time = dimensions.filter(isTime).flatMap(refsOf);
  const levels = dimensions.filter((d) => !isTime(d)).flatMap(refsOf);
  return [...time, ...levels, "amount"].join("|");
}

// Rows of a model table: {columns, data, total, note?}.
export function modelRows(name, params) {
  return getJson(`/api/models/${name}`, params);
}
