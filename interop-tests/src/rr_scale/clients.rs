//! The route-reflector clients of the reflection benchmark: N lightweight
//! iBGP speakers as tasks of one tokio thread inside the client namespace,
//! each dialing the reflector from its own source address.
//!
//! A client opens its session (RFC 4271 §8.2.2: OPEN, KEEPALIVE), sends
//! KEEPALIVEs at a third of the negotiated hold time, announces its one /26
//! block when the fleet is told to, and counts the distinct blocks of the
//! other clients it receives, from the classic NLRI field and from
//! MP_REACH_NLRI (RFC 4760). A withdrawn block is counted apart and no
//! longer held. One thread for all sessions keeps the clients' own cost
//! small and flat next to the reflector's: the [`Injector`](crate::Injector)
//! would spend two threads and a transcript on each.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ipnet::Ipv4Net;
use nix::sched::{CloneFlags, setns};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;

use crate::injector::{
    HEADER_LEN, InjectorConfig, KEEPALIVE, NOTIFICATION, OPEN, UPDATE, attr, message, update_body,
};
use crate::{Netns, Result, err};

/// The blocks of a run: client `i` owns `base + 64 i` /26 (Calico's block size).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocks {
    /// The first block's address.
    pub base: Ipv4Addr,
    /// How many (one per client).
    pub n: u32,
}

/// Calico's IPAM block length.
pub const BLOCK_LEN: u8 = 26;

impl Blocks {
    /// Client `i`'s block.
    pub fn prefix(&self, i: u32) -> Ipv4Net {
        let a = u32::from(self.base).wrapping_add(i << (32 - BLOCK_LEN));
        Ipv4Net::new(a.into(), BLOCK_LEN).unwrap_or_default()
    }

    /// Whose block `p` is, if it is one of ours.
    pub fn index(&self, p: &Ipv4Net) -> Option<u32> {
        if p.prefix_len() != BLOCK_LEN {
            return None;
        }
        let off = u32::from(p.addr()).checked_sub(u32::from(self.base))?;
        let i = off >> (32 - BLOCK_LEN);
        (off.trailing_zeros() >= u32::from(32 - BLOCK_LEN) && i < self.n).then_some(i)
    }
}

/// What a fleet is made of.
#[derive(Clone, Debug)]
pub struct FleetSpec {
    /// The AS of the clients and of the reflector (iBGP).
    pub asn: u32,
    /// The reflector's address (port 179).
    pub reflector: Ipv4Addr,
    /// Client `i` dials from `addrs[i]`, which is also its BGP Identifier
    /// and the NEXT_HOP of its block.
    pub addrs: Vec<Ipv4Addr>,
    /// The blocks, one per address.
    pub blocks: Blocks,
    /// How long a client keeps retrying its connection.
    pub connect_for: Duration,
}

/// Where the fleet is, shared with the thread that measures.
#[derive(Debug, Default)]
pub struct Progress {
    /// Sessions that reached Established.
    pub established: AtomicUsize,
    /// Clients holding every other client's block.
    pub complete: AtomicUsize,
    /// Announced prefixes received, repeats included.
    pub announced: AtomicU64,
    /// Withdrawn prefixes received.
    pub withdrawn: AtomicU64,
    /// When the last session came up.
    pub last_established: Mutex<Option<Instant>>,
    /// When the last client became complete.
    pub last_complete: Mutex<Option<Instant>>,
    /// Clients that gave up or whose session ended, with why.
    pub failures: Mutex<Vec<String>>,
}

impl Progress {
    fn mark(at: &Mutex<Option<Instant>>) {
        if let Ok(mut t) = at.lock() {
            let now = Instant::now();
            *t = Some(t.map_or(now, |t| t.max(now)));
        }
    }

    fn fail(&self, msg: String) {
        if let Ok(mut f) = self.failures.lock() {
            f.push(msg);
        }
    }

    /// The failures so far (the first few, and how many).
    pub fn failure_summary(&self) -> Option<String> {
        let f = self.failures.lock().ok()?;
        if f.is_empty() {
            return None;
        }
        let head: Vec<&str> = f.iter().take(5).map(String::as_str).collect();
        Some(format!("{} clients failed: {}", f.len(), head.join("; ")))
    }
}

/// The phase the measuring thread sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Connect,
    Announce,
    Stop,
}

/// The running clients. Dropping the fleet closes every session.
#[derive(Debug)]
pub struct Fleet {
    progress: Arc<Progress>,
    phase: watch::Sender<Phase>,
    thread: Option<JoinHandle<Result<()>>>,
}

impl Fleet {
    /// Starts every client inside `ns`; they dial at once and retry for
    /// [`FleetSpec::connect_for`].
    pub fn start(ns: &Netns, spec: FleetSpec) -> Result<Fleet> {
        let progress = Arc::new(Progress::default());
        let (phase, rx) = watch::channel(Phase::Connect);
        let path = format!("/run/netns/{}", ns.name());
        let p = progress.clone();
        let thread = std::thread::Builder::new()
            .name("rr-clients".into())
            .spawn(move || -> Result<()> {
                // setns moves this thread only; every socket it creates lives
                // in the client namespace.
                let fd = File::open(&path).map_err(|e| err!("open {path}: {e}"))?;
                setns(fd, CloneFlags::CLONE_NEWNET).map_err(|e| err!("setns {path}: {e}"))?;
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| err!("client runtime: {e}"))?;
                rt.block_on(run_fleet(Arc::new(spec), p, rx));
                Ok(())
            })
            .map_err(|e| err!("spawning the client thread: {e}"))?;
        Ok(Fleet { progress, phase, thread: Some(thread) })
    }

    /// The counters.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Every client announces its block now.
    pub fn announce(&self) {
        let _ = self.phase.send(Phase::Announce);
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = self.phase.send(Phase::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn run_fleet(
    spec: Arc<FleetSpec>,
    progress: Arc<Progress>,
    mut phase: watch::Receiver<Phase>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..spec.addrs.len() {
        tasks.spawn(client(i, spec.clone(), progress.clone(), phase.clone()));
    }
    while *phase.borrow_and_update() != Phase::Stop {
        if phase.changed().await.is_err() {
            break;
        }
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
}

/// One client from dialing to the end of the run.
async fn client(
    i: usize,
    spec: Arc<FleetSpec>,
    progress: Arc<Progress>,
    mut phase: watch::Receiver<Phase>,
) {
    let me = spec.addrs[i];
    let deadline = Instant::now() + spec.connect_for;
    // Spread the retries so that refused clients do not come back as one burst.
    let pause = Duration::from_millis(500 + (i as u64 * 37) % 500);
    let mut last;
    let (rd, wr, keepalive) = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, open_session(me, &spec)).await {
            Ok(Ok(s)) => break s,
            Ok(Err(e)) => last = e.msg,
            Err(_) => last = "timed out".into(),
        }
        if Instant::now() + pause >= deadline {
            progress.fail(format!("{me}: no session within {:?}: {last}", spec.connect_for));
            return;
        }
        tokio::time::sleep(pause).await;
    };
    progress.established.fetch_add(1, Ordering::Relaxed);
    Progress::mark(&progress.last_established);
    if let Err(e) = serve(i, &spec, &progress, &mut phase, rd, wr, keepalive).await {
        progress.fail(format!("{me}: {}", e.msg));
    }
}

/// Dials from `me`, exchanges OPENs and KEEPALIVEs; returns the halves and
/// the KEEPALIVE interval (a third of the negotiated hold time).
async fn open_session(
    me: Ipv4Addr,
    spec: &FleetSpec,
) -> Result<(OwnedReadHalf, OwnedWriteHalf, Option<Duration>)> {
    let sock = TcpSocket::new_v4()?;
    sock.bind(SocketAddr::new(IpAddr::V4(me), 0))?;
    let stream = sock
        .connect(SocketAddr::new(IpAddr::V4(spec.reflector), 179))
        .await
        .map_err(|e| err!("connect: {e}"))?;
    stream.set_nodelay(true)?;
    let (mut rd, mut wr) = stream.into_split();
    let cfg = InjectorConfig::new(spec.asn, me);
    wr.write_all(&message(OPEN, &cfg.open_body())).await?;
    let mut buf = BytesMut::new();
    let open = loop {
        match read_frame(&mut rd, &mut buf).await? {
            (OPEN, body) => break body,
            (KEEPALIVE, _) => {}
            (t, body) => return Err(err!("expected OPEN, got type {t} {}", describe(t, &body))),
        }
    };
    let hold = open.get(3..5).map_or(0, |h| u16::from_be_bytes([h[0], h[1]]));
    let hold = hold.min(cfg.hold_time);
    wr.write_all(&message(KEEPALIVE, &[])).await?;
    match read_frame(&mut rd, &mut buf).await? {
        (KEEPALIVE, _) => {}
        (t, body) => return Err(err!("expected KEEPALIVE, got {}", describe(t, &body))),
    }
    let keepalive = (hold > 0).then(|| Duration::from_secs(u64::from(hold / 3).max(1)));
    Ok((rd, wr, keepalive))
}

fn describe(t: u8, body: &[u8]) -> String {
    match (t, body) {
        (NOTIFICATION, [code, sub, ..]) => format!("NOTIFICATION {code}/{sub}"),
        _ => format!("type {t}, {} octets", body.len()),
    }
}

/// Reads one whole message (type, body) for the OPEN exchange.
async fn read_frame(rd: &mut OwnedReadHalf, buf: &mut BytesMut) -> Result<(u8, Bytes)> {
    loop {
        if let Some(f) = take_frame(buf)? {
            return Ok(f);
        }
        fill(rd, buf).await?;
    }
}

/// Reads what the socket has into `buf`; an error at EOF. Cancel-safe.
async fn fill(rd: &mut OwnedReadHalf, buf: &mut BytesMut) -> Result<()> {
    // Small to start with (thousands of clients), growing with what comes.
    buf.reserve(4096);
    if rd.read_buf(buf).await? == 0 {
        return Err(err!("closed by the reflector"));
    }
    Ok(())
}

/// The first whole message in `buf`, removed from it.
fn take_frame(buf: &mut BytesMut) -> Result<Option<(u8, Bytes)>> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let len = usize::from(u16::from_be_bytes([buf[16], buf[17]]));
    if len < HEADER_LEN {
        return Err(err!("bad message length {len}"));
    }
    if buf.len() < len {
        return Ok(None);
    }
    let t = buf[18];
    let mut m = buf.split_to(len).freeze();
    Ok(Some((t, m.split_off(HEADER_LEN))))
}

/// The block announcement of client `i`: ORIGIN IGP, an empty AS_PATH
/// (iBGP), NEXT_HOP its address, LOCAL_PREF 100, as a Calico node sends it.
pub fn block_update(me: Ipv4Addr, block: Ipv4Net) -> Vec<u8> {
    let nh: String = me.octets().iter().map(|o| format!("{o:02x}")).collect();
    let attrs =
        [attr(0x40, 1, "00"), attr(0x40, 2, ""), attr(0x40, 3, &nh), attr(0x40, 5, "00000064")]
            .concat();
    let octets = usize::from(block.prefix_len()).div_ceil(8);
    let nlri: String = std::iter::once(block.prefix_len())
        .chain(block.addr().octets().into_iter().take(octets))
        .map(|o| format!("{o:02x}"))
        .collect();
    message(UPDATE, &update_body("", &attrs, &nlri))
}

/// An established client: counts blocks until the fleet stops.
async fn serve(
    i: usize,
    spec: &FleetSpec,
    progress: &Progress,
    phase: &mut watch::Receiver<Phase>,
    mut rd: OwnedReadHalf,
    mut wr: OwnedWriteHalf,
    keepalive: Option<Duration>,
) -> Result<()> {
    let n = spec.addrs.len();
    let me = u32::try_from(i).unwrap_or(u32::MAX);
    let mut held = vec![false; n];
    let (mut have, want) = (0usize, n - 1);
    let mut complete = false;
    let mark_complete = |complete: &mut bool| {
        if !*complete {
            *complete = true;
            progress.complete.fetch_add(1, Ordering::Relaxed);
            Progress::mark(&progress.last_complete);
        }
    };
    if want == 0 {
        mark_complete(&mut complete);
    }
    let every = keepalive.unwrap_or(Duration::from_secs(3600));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let mut announced = false;
    let mut buf = BytesMut::new();
    loop {
        let now = *phase.borrow_and_update();
        match now {
            Phase::Stop => return Ok(()),
            Phase::Announce if !announced => {
                announced = true;
                wr.write_all(&block_update(spec.addrs[i], spec.blocks.prefix(me))).await?;
            }
            _ => {}
        }
        tokio::select! {
            r = fill(&mut rd, &mut buf) => {
                r?;
                while let Some((t, body)) = take_frame(&mut buf)? {
                    match t {
                        UPDATE => {
                            let (mut ann, mut wd) = (0u64, 0u64);
                            for_each_prefix(&body, |announce, p| {
                                let j = spec.blocks.index(&p).filter(|&j| j != me);
                                let slot = j.and_then(|j| held.get_mut(j as usize));
                                if announce {
                                    ann += 1;
                                    if let Some(h) = slot.filter(|h| !**h) {
                                        *h = true;
                                        have += 1;
                                    }
                                } else {
                                    wd += 1;
                                    if let Some(h) = slot.filter(|h| **h) {
                                        *h = false;
                                        have -= 1;
                                    }
                                }
                            })
                            .map_err(|e| err!("undecodable UPDATE: {e}"))?;
                            progress.announced.fetch_add(ann, Ordering::Relaxed);
                            progress.withdrawn.fetch_add(wd, Ordering::Relaxed);
                            if have == want {
                                mark_complete(&mut complete);
                            }
                        }
                        NOTIFICATION => return Err(err!("got {}", describe(t, &body))),
                        _ => {}
                    }
                }
            }
            _ = tick.tick(), if keepalive.is_some() => {
                wr.write_all(&message(KEEPALIVE, &[])).await?;
            }
            r = phase.changed() => {
                if r.is_err() {
                    return Ok(());
                }
            }
        }
    }
}

/// Calls `f(true, p)` for each IPv4 unicast prefix an UPDATE body announces
/// and `f(false, p)` for each it withdraws: the classic fields (RFC 4271
/// §4.3) and MP_REACH_NLRI / MP_UNREACH_NLRI for AFI 1, SAFI 1 (RFC 4760
/// §3, §4). Other families are skipped; a length running past its field is
/// an error.
pub fn for_each_prefix(
    body: &[u8],
    mut f: impl FnMut(bool, Ipv4Net),
) -> std::result::Result<(), String> {
    let be16 = |b: &[u8], at: usize| -> std::result::Result<usize, String> {
        b.get(at..at + 2)
            .map(|x| usize::from(u16::from_be_bytes([x[0], x[1]])))
            .ok_or_else(|| format!("short at octet {at}"))
    };
    let wlen = be16(body, 0)?;
    prefixes(field(body, 2, wlen)?, |p| f(false, p))?;
    let alen = be16(body, 2 + wlen)?;
    let mut attrs = field(body, 4 + wlen, alen)?;
    let nlri = &body[4 + wlen + alen..];
    while let [flags, ty, ..] = *attrs {
        let (len, hdr) = if flags & 0x10 != 0 {
            (be16(attrs, 2)?, 4)
        } else {
            (usize::from(*attrs.get(2).ok_or("short attribute header")?), 3)
        };
        let v = field(attrs, hdr, len)?;
        let ipv4_unicast = v.get(..3) == Some(&[0, 1, 1][..]);
        match ty {
            14 if ipv4_unicast => {
                let nh_len = usize::from(*v.get(3).ok_or("short MP_REACH_NLRI")?);
                // AFI, SAFI, next-hop length, next hop, one reserved octet.
                let at = 4 + nh_len + 1;
                prefixes(v.get(at..).ok_or("short MP_REACH_NLRI")?, |p| f(true, p))?;
            }
            15 if ipv4_unicast => prefixes(&v[3..], |p| f(false, p))?,
            _ => {}
        }
        attrs = &attrs[hdr + len..];
    }
    prefixes(nlri, |p| f(true, p))
}

/// `len` octets of `b` from `from`, or an error if they run past its end.
fn field(b: &[u8], from: usize, len: usize) -> std::result::Result<&[u8], String> {
    b.get(from..from + len).ok_or_else(|| format!("{len} octets at {from} run past the end"))
}

/// The (length, prefix) encoding of RFC 4271 §4.3, IPv4.
fn prefixes(mut b: &[u8], mut f: impl FnMut(Ipv4Net)) -> std::result::Result<(), String> {
    while let Some(&len) = b.first() {
        if len > 32 {
            return Err(format!("prefix length {len}"));
        }
        let octets = usize::from(len).div_ceil(8);
        let bytes = b.get(1..1 + octets).ok_or("prefix runs past the end")?;
        let mut a = [0u8; 4];
        a[..octets].copy_from_slice(bytes);
        f(Ipv4Net::new(Ipv4Addr::from(a), len).map_err(|e| e.to_string())?);
        b = &b[1 + octets..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use bgp::wire::attr::{AsPath, MpNextHop, Origin, PathAttrs};
    use bgp::wire::pack::pack_announcements;
    use bgp::wire::{AfiSafi, DecodeCtx, EncodeCtx, Nlri, UpdateMsg};
    use ipnet::IpNet;

    use super::*;

    fn blocks() -> Blocks {
        Blocks { base: Ipv4Addr::new(10, 192, 0, 0), n: 5000 }
    }

    fn collect(body: &[u8]) -> Vec<(bool, String)> {
        let mut v = Vec::new();
        for_each_prefix(body, |a, p| v.push((a, p.to_string()))).unwrap();
        v
    }

    #[test]
    fn blocks_are_consecutive_slash_26s_and_map_back_to_their_client() {
        let b = blocks();
        assert_eq!(b.prefix(0).to_string(), "10.192.0.0/26");
        assert_eq!(b.prefix(5).to_string(), "10.192.1.64/26");
        assert_eq!(b.index(&b.prefix(4999)), Some(4999));
        assert_eq!(b.index(&"10.192.0.0/24".parse().unwrap()), None);
        assert_eq!(b.index(&"10.192.0.32/26".parse().unwrap()), None);
        assert_eq!(b.index(&b.prefix(5000)), None);
    }

    #[test]
    fn a_block_update_decodes_with_the_codec_as_an_ibgp_announcement() {
        let me = Ipv4Addr::new(10, 128, 0, 7);
        let m = block_update(me, blocks().prefix(3));
        let ctx = DecodeCtx { four_octet_as: true, ..DecodeCtx::default() };
        let u = UpdateMsg::decode(&Bytes::copy_from_slice(&m[HEADER_LEN..]), &ctx).unwrap();
        let got: Vec<_> = u.announcements().map(|(_, n)| n.prefix).collect();
        assert_eq!(got, vec![IpNet::V4(blocks().prefix(3))]);
        assert_eq!(u.update.attrs.next_hop, Some(me));
        assert_eq!(u.update.attrs.local_pref, Some(100));
        assert_eq!(collect(&m[HEADER_LEN..]), vec![(true, "10.192.0.192/26".to_owned())]);
    }

    #[test]
    fn prefixes_come_from_the_classic_fields_and_from_mp_reach() {
        let nlri: Vec<Nlri> = (0..3).map(|i| Nlri::new(IpNet::V4(blocks().prefix(i)))).collect();
        let attrs = PathAttrs {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence(vec![])),
            ..PathAttrs::default()
        };
        let ctx = EncodeCtx { four_octet_as: true, ..EncodeCtx::default() };
        let nh = MpNextHop::Ipv4(Ipv4Addr::new(10, 128, 0, 2));
        let m = pack_announcements(&attrs, AfiSafi::IPV4_UNICAST, nh, &nlri, &ctx).unwrap();
        let got: Vec<_> = m.iter().flat_map(|m| collect(&m[HEADER_LEN..])).collect();
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got.iter().all(|(a, _)| *a));

        // MP_REACH_NLRI (optional, type 14): AFI 1, SAFI 1, a 4-octet next
        // hop, reserved, one /26; then a classic withdrawal.
        let mp = attr(0x80, 14, "0001 01 04 0a800002 00 1a0ac00040");
        let body = update_body("1a0ac00000", &mp, "");
        assert_eq!(
            collect(&body),
            vec![(false, "10.192.0.0/26".to_owned()), (true, "10.192.0.64/26".to_owned())]
        );
        // MP_UNREACH_NLRI (type 15) of IPv4 unicast, extended length.
        let body = update_body("", "900f0008 000101 1a0ac00080", "");
        assert_eq!(collect(&body), vec![(false, "10.192.0.128/26".to_owned())]);
    }

    #[test]
    fn a_prefix_running_past_its_field_is_an_error_not_a_panic() {
        for body in [
            update_body("", "", "1a0ac0"),
            update_body("", "", "21"),
            update_body("", "4001", ""),
            vec![0, 9],
            update_body("", &attr(0x80, 14, "0001 01 20"), ""),
        ] {
            assert!(for_each_prefix(&body, |_, _| {}).is_err(), "{body:?}");
        }
    }

    #[test]
    fn frames_are_taken_whole_and_in_order() {
        let mut buf =
            BytesMut::from(&[message(KEEPALIVE, &[]), message(UPDATE, &[0, 0, 0, 0])].concat()[..]);
        buf.extend_from_slice(&message(KEEPALIVE, &[])[..5]);
        assert_eq!(take_frame(&mut buf).unwrap(), Some((KEEPALIVE, Bytes::new())));
        assert_eq!(
            take_frame(&mut buf).unwrap(),
            Some((UPDATE, Bytes::from_static(&[0, 0, 0, 0])))
        );
        assert_eq!(take_frame(&mut buf).unwrap(), None);
        assert_eq!(buf.len(), 5);
    }
}
