//! Test harness for real outside programs.
