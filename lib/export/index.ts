export { alexnetToOnnx, ONNX_OPSET, type OnnxExport, type OnnxExportOptions } from './alexnet_onnx.js';
export { encodeOnnxModel, IR_VERSION, type OnnxModel, type OnnxNode, type OnnxInitializer, type OnnxValue, type AttributeValue } from './onnx_proto.js';
export { exportWeightsOnly } from './weights.js';
