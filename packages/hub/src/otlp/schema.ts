import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

/** The vendored OTLP definitions (see proto/README.md), relative to the package root. */
const PROTO_FILES = [
  "opentelemetry/proto/common/v1/common.proto",
  "opentelemetry/proto/resource/v1/resource.proto",
  "opentelemetry/proto/trace/v1/trace.proto",
  "opentelemetry/proto/collector/trace/v1/trace_service.proto",
];

/**
 * `google.rpc.Status`, the body OTLP/HTTP prescribes for 4xx and 5xx answers, without its
 * `details` (field 3, a list of `Any` the hub never sends). Field numbers and types are those of
 * googleapis' google/rpc/status.proto.
 */
const STATUS_DESCRIPTOR = {
  nested: {
    google: {
      nested: {
        rpc: {
          nested: {
            Status: {
              fields: { code: { type: "int32", id: 1 }, message: { type: "string", id: 2 } },
            },
          },
        },
      },
    },
  },
};

export interface OtlpTypes {
  request: protobuf.Type;
  response: protobuf.Type;
  status: protobuf.Type;
}

/**
 * The protobuf types, parsed from the vendored files on first use and kept: they are constants,
 * so one copy per process is shared by every hub (and every caller of `decodeOtlpTraces`).
 */
let cached: OtlpTypes | undefined;

export function otlpTypes(): OtlpTypes {
  if (cached) return cached;
  const dir = protoDir();
  const root = new protobuf.Root();
  for (const file of PROTO_FILES) {
    protobuf.parse(readFileSync(join(dir, file), "utf8"), root, { keepCase: false });
  }
  root.addJSON(STATUS_DESCRIPTOR.nested);
  root.resolveAll();
  cached = {
    request: root.lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest"),
    response: root.lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse"),
    status: root.lookupType("google.rpc.Status"),
  };
  return cached;
}

/**
 * `proto/` of this package: the nearest folder above this module holding a package.json is the
 * package root, whether this code runs from `src/otlp/` (tests) or bundled into `dist/`.
 */
function protoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return join(dir, "proto");
    const parent = dirname(dir);
    if (parent === dir) throw new Error("@chorus/hub: cannot find the package's proto/ folder");
    dir = parent;
  }
}
