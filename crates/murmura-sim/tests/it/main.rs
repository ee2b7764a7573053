//! Integration tests for murmura-sim: the engine's faults on a toy core, and
//! issue 12's scenarios for the SWIM core at small scale.

mod engine;
mod scenarios;
