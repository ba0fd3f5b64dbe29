//! End-to-end tests: the real `infill-ls` over stdio, driven as an editor drives it.

mod e2e {
    pub mod faults;
    pub mod latency;
    pub mod lifecycle;
    pub mod model;
    pub mod protocol;
    pub mod remote;
    pub mod robustness;
    pub mod support;
}
