//! A program to point `shm` at: a rover that publishes its state in the
//! POSIX shm region `rover` (or the name or path given), one update a
//! second, driving towards its `target` until it reaches it.
//!
//!     cargo run -p shm-cli --example rover            # Ctrl-C stops it
//!     shm show rover
//!     shm set rover target.x=-20 target.y=5           # it turns around
//!     shm watch rover
//!
//! The region stays when the program stops: `shm rm rover` removes it.

use std::time::Duration;

use shm_runtime::{Shared, SharedState};

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Point {
    pub x: i32,
    pub y: i32,
}

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Rover {
    /// Seconds since the rover started.
    pub ticks: u64,
    pub position: Point,
    pub target: Point,
    /// Battery charge, 0 to 1.
    pub battery: f32,
    /// 0 idle, 1 driving.
    pub mode: u8,
    pub _pad: [u8; 3],
    /// Motor temperatures, °C.
    pub motor_temps: [f32; 4],
    /// The last 32 distance readings, in cm.
    pub lidar: [u16; 32],
}

fn main() -> shm_runtime::Result<()> {
    let place = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "rover".to_owned());
    let options = Rover::options()
        .initial(Rover {
            battery: 1.0,
            target: Point { x: 12, y: -3 },
            motor_temps: [21.5; 4],
            ..Rover::default()
        })
        .clone();
    let rover: Shared<Rover> = if place.contains('/') {
        options.open_file(&place)?
    } else {
        options.open_shm(&place)?
    };
    println!("rover: publishing in {place}; Ctrl-C stops");
    loop {
        rover.update(step);
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// One second of driving: a step towards the target, and what it costs.
fn step(r: &mut Rover) {
    r.ticks += 1;
    let toward = |from: i32, to: i32| from + (to - from).signum();
    let moved = r.position != r.target;
    r.position = Point {
        x: toward(r.position.x, r.target.x),
        y: toward(r.position.y, r.target.y),
    };
    r.mode = u8::from(moved);
    if moved {
        r.battery = (r.battery - 0.0025).max(0.0);
        for (i, t) in r.motor_temps.iter_mut().enumerate() {
            *t = (*t + 0.25 * (i + 1) as f32).min(80.0);
        }
    }
    let tick = r.ticks as usize;
    r.lidar[tick % r.lidar.len()] = 150 + (tick * 37 % 90) as u16;
}
