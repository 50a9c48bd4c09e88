//! End-to-end tests of the `sparta` wiring through real HTTP, in both run modes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod athlete_tokens;
mod bad_input;
mod budgets;
mod catalogue;
mod charts;
mod cli;
mod console;
mod events;
mod examples;
mod faults;
mod harness;
mod lifecycle;
mod llm;
mod metrics;
mod motivation;
mod processes;
mod queueing;
mod receiver;
mod security;
mod ssrf;
mod streams;
mod telemetry;
mod webhooks;
