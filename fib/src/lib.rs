//! Kernel FIB programming: CrossSubnet policy, plan/diff and netlink (see issue 5).
