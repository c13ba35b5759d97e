// The envelope core: pure edXML model, build, parse, validate and the status state machine.
export type * from './types.js';
export { EDXML_NS, EDXML_PREFIX } from './types.js';
export { buildPacket, buildPacketBytes } from './build.js';
export { parsePacket, packetFromDocument, locateSkeleton, edxmlChild, edxmlChildren } from './parse.js';
export type { EdxmlSkeleton } from './parse.js';
export { validatePacket, FIELD_LIMITS } from './validate.js';
export type { Finding, Severity, ValidationResult, ValidateOptions } from './validate.js';
export { composeDocument, composeStatus, contentTypeFor, defaultStaffInfo, DEFAULT_DOCUMENT_TYPE, DEFAULT_STATUS_DESCRIPTIONS } from './compose.js';
export type { AttachmentInput, DocumentInput, StatusInput } from './compose.js';
export { findSecrecyMarks, secrecyMarkIn, isSecrecyLevel } from './secrecy.js';
export * from './values.js';
export * from './status-machine.js';
export { parseXml, readXml, serializeXml, decodeXml, preScanXml, DEFAULT_XML_LIMITS, xmlLimitsFor, formatBytes } from './xml.js';
export type { XmlLimits, ReadXmlOptions } from './xml.js';
export type { XmlAttr, XmlDocument, XmlElement, XmlNode } from './xml-tree.js';
export * from './calendar.js';
export * from './links.js';
