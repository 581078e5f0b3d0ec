//! The VXP fetching module: http, https, file and data URLs behind an
//! HTTP/1.1 cache shared by every session.
#![forbid(unsafe_code)]
