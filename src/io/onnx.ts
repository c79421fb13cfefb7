// ONNX model files: the few ONNX messages an inference graph needs, declared here with the field
// numbers of the ONNX spec (onnx/onnx.proto), and encoded/decoded by protobufjs's reflection.
// Only dense float32 tensors are written, little-endian in raw_data, as the spec stores them.
import protobuf from 'protobufjs/light.js';
import type { HostTensor } from '../tensor/host.js';
import { toFloat32 } from '../tensor/host.js';
import { writeFileAtomic } from './disk.js';

/** The opset written: 13 (BatchNormalization in inference form, Gemm, Flatten, Concat as used here). */
export const ONNX_OPSET = 13;
/** The IR version that goes with opset 13 (ONNX 1.8). */
export const ONNX_IR_VERSION = 7;
/** TensorProto.DataType.FLOAT. */
const FLOAT = 1;
/** AttributeProto.AttributeType values. */
const ATTR = { FLOAT: 1, INT: 2, INTS: 7 } as const;

const schema = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            ir_version: { type: 'int64', id: 1 },
            producer_name: { type: 'string', id: 2 },
            producer_version: { type: 'string', id: 3 },
            domain: { type: 'string', id: 4 },
            model_version: { type: 'int64', id: 5 },
            doc_string: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
            opset_import: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
            metadata_props: { rule: 'repeated', type: 'StringStringEntryProto', id: 14 },
          },
        },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        StringStringEntryProto: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            doc_string: { type: 'string', id: 10 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            op_type: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            domain: { type: 'string', id: 7 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            type: { type: 'int32', id: 20 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            data_type: { type: 'int32', id: 2 },
            name: { type: 'string', id: 8 },
            raw_data: { type: 'bytes', id: 9 },
          },
        },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        TypeProto: {
          fields: { tensor_type: { type: 'TypeProtoTensor', id: 1 } },
        },
        // TypeProto.Tensor in the spec (a nested message; the name does not reach the wire)
        TypeProtoTensor: { fields: { elem_type: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
        TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } } },
        // TensorShapeProto.Dimension: dim_value and dim_param are a oneof
        Dimension: { fields: { dim_value: { type: 'int64', id: 1 }, dim_param: { type: 'string', id: 2 } } },
      },
    },
  },
});
const ModelProto = schema.lookupType('onnx.ModelProto');

/** An attribute: an int, a float or a list of ints (all this exporter writes). */
export type OnnxAttribute = { int: number } | { float: number } | { ints: readonly number[] };

export interface OnnxNode {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, OnnxAttribute>;
}

/** A graph input or output: float32, each dimension a size or a symbolic name (a dynamic dimension). */
export interface OnnxValue {
  name: string;
  shape: (number | string)[];
}

export interface OnnxModel {
  graphName: string;
  producer: { name: string; version: string };
  docString?: string;
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  nodes: OnnxNode[];
  /** float32 tensors by name, written in this order. */
  initializers: Map<string, HostTensor>;
  metadata?: Record<string, string>;
}

function attributeProto(name: string, a: OnnxAttribute): Record<string, unknown> {
  if ('int' in a) return { name, type: ATTR.INT, i: a.int };
  if ('float' in a) return { name, type: ATTR.FLOAT, f: a.float };
  return { name, type: ATTR.INTS, ints: [...a.ints] };
}

function valueInfo(v: OnnxValue): Record<string, unknown> {
  const dim = v.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d }));
  return { name: v.name, type: { tensor_type: { elem_type: FLOAT, shape: { dim } } } };
}

/** The ModelProto bytes of a model (opset ONNX_OPSET of the default domain). */
export function encodeOnnx(m: OnnxModel): Uint8Array {
  const initializer = [...m.initializers].map(([name, t]) => {
    const data = toFloat32(t);
    return { name, dims: [...t.shape], data_type: FLOAT, raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  });
  const message = ModelProto.fromObject({
    ir_version: ONNX_IR_VERSION,
    producer_name: m.producer.name,
    producer_version: m.producer.version,
    doc_string: m.docString ?? '',
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    metadata_props: Object.entries(m.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: m.graphName,
      node: m.nodes.map((n) => ({
        name: n.name, op_type: n.opType, input: n.inputs, output: n.outputs,
        attribute: Object.entries(n.attributes ?? {}).map(([k, a]) => attributeProto(k, a)),
      })),
      initializer,
      input: m.inputs.map(valueInfo),
      output: m.outputs.map(valueInfo),
    },
  });
  return ModelProto.encode(message).finish();
}

/** A decoded ModelProto as plain objects with the spec's field names (int64s as numbers), for checks. */
export interface DecodedOnnx {
  ir_version: number;
  producer_name: string;
  opset_import: { domain: string; version: number }[];
  metadata_props: { key: string; value: string }[];
  graph: {
    name: string;
    node: { name: string; op_type: string; input: string[]; output: string[]; attribute: { name: string; type: number; f?: number; i?: number; ints?: number[] }[] }[];
    initializer: { name: string; dims: number[]; data_type: number; raw_data: Uint8Array }[];
    input: { name: string; type: { tensor_type: { elem_type: number; shape: { dim: { dim_value?: number; dim_param?: string }[] } } } }[];
    output: DecodedOnnx['graph']['input'];
  };
}

export function decodeOnnx(bytes: Uint8Array, name = 'ONNX model'): DecodedOnnx {
  let message: protobuf.Message;
  try {
    message = ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`${name}: not an ONNX model (${(e as Error).message})`);
  }
  return ModelProto.toObject(message, { longs: Number, arrays: true, defaults: false }) as DecodedOnnx;
}

/** Writes the model to `file` atomically (nothing is left behind on failure). */
export function writeOnnxFile(file: string, m: OnnxModel): number {
  const bytes = encodeOnnx(m);
  writeFileAtomic(file, [bytes]);
  return bytes.length;
}
