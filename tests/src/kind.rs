//! The replicated types the simulator and the fuzz targets run (the fuzz targets'
//! byte selector picks among the first four, [`Kind::ALL`]; the simulator also runs
//! [`Kind::Keyspace`]).

/// A replicated type, named on the command line and selected by a fuzz input's byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `GCounter` (selector 0).
    GCounter,
    /// `PnCounter` (selector 1).
    PnCounter,
    /// `OrSet<u64>` (selector 2).
    OrSet,
    /// `LwwRegister<String>` (selector 3).
    Lww,
    /// `Keyspace` (simulator only: no fuzz selector).
    Keyspace,
}

impl Kind {
    /// Every kind a fuzz selector picks, in selector order.
    pub const ALL: [Kind; 4] = [Kind::GCounter, Kind::PnCounter, Kind::OrSet, Kind::Lww];

    /// Every kind the simulator runs.
    pub const SIM: [Kind; 5] = [
        Kind::GCounter,
        Kind::PnCounter,
        Kind::OrSet,
        Kind::Lww,
        Kind::Keyspace,
    ];

    /// The kind with selector `b % 4`.
    #[must_use]
    pub fn from_byte(b: u8) -> Kind {
        Self::ALL[usize::from(b % 4)]
    }

    /// Its selector.
    #[must_use]
    pub fn index(self) -> u8 {
        self as u8
    }

    /// Its name on the command line and in reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Kind::GCounter => "gcounter",
            Kind::PnCounter => "pncounter",
            Kind::OrSet => "orset",
            Kind::Lww => "lww",
            Kind::Keyspace => "keyspace",
        }
    }

    /// The kind called `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::SIM.into_iter().find(|k| k.name() == name)
    }
}
