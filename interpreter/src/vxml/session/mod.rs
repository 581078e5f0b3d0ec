//! The VoiceXML session: runs compiled documents (Form Interpretation Algorithm, VoiceXML 2.0 §2.1.6, Appendix C).
