//! Control protocol shared by calico-bgpd and calico-bgpctl (see issue 6).
