//! The engine's integration tests, one module per concept, in one test binary: one link
//! instead of one per file, and libtest spreads every case over the cores at once.
//! Run one module with `cargo test -p anygram-core --test engine MODULE::`.

#[path = "../common/mod.rs"]
mod common;

mod attribution_oracle;
mod cnf_estimator;
mod cnf_oracle;
mod corrupt;
mod dedup_oracle;
mod draft_oracle;
mod fm_oracle;
mod fm_shard;
mod generate_oracle;
mod layout;
mod lm_oracle;
mod oracle;
mod score_oracle;
mod summary_oracle;
