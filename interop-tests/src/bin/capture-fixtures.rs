//! Writes golden pcaps of real BGP sessions into `bgp/tests/fixtures/`.
fn main() {
    eprintln!("capture-fixtures: no scenarios yet");
}
