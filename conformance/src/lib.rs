//! Conformance runners: the W3C SRGS 1.0 grammar test set and the VoiceXML /
//! CCXML implementation-report suites.
#![forbid(unsafe_code)]
