//! Interop harness: real FRR, BIRD, GoBGP and ExaBGP peers in network namespaces.
