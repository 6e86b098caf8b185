//! One integration-test binary; modules are numbered by layer, as in openraft's tests.

#![allow(clippy::unwrap_used, reason = "tests: a failed unwrap is a failed test")]

mod t100_cluster;
mod t101_cluster_in_process;
mod t102_cluster_membership;
mod t104_cluster_registry;
mod t106_cluster_partition;
mod t108_cluster_histories;
mod t10_dependency_direction;
mod t110_cluster_listeners;
mod t114_auth;
mod t115_auth_users;
mod t116_config_transfer;
mod t20_openraft_suite;
mod t30_config_http;
mod t32_encrypted_configs;
mod t40_durability;
mod t50_sdk_config;
mod t60_http_long_poll;
mod t70_grpc_protocol;
mod t72_fuzzy_watch;
mod t80_console_http;
mod t90_beta;
mod t91_tag_gray;
mod t92_sdk_naming;
mod t93_v3_api;
mod t94_naming_http;
mod t95_health_checks;
mod t96_sdk_reconnect;
mod t97_blackbox_fuzz;
mod t98_http_limits;
mod t99_memory_after_bursts;
