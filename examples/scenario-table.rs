//! Prints the headline-numbers table of `scenarios/README.md` (every shipped
//! scenario at seed 1), between its markers: paste it over the old one.
//!
//! `cargo run --release --example scenario-table`

use multiactive::output::headline;

fn main() {
    println!("{}", headline::START);
    print!("{}", headline::headline_table());
    println!("{}", headline::END);
}
