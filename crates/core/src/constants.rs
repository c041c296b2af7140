//! Physical constants (CODATA 2018 exact or recommended values), units in the names.

/// Electron rest energy m_e c^2 \[MeV\] (CODATA 2018).
pub const ELECTRON_MASS_MEV: f64 = 0.510_998_950_00;

/// Threshold for pair production in the nuclear field, 2 m_e c^2 \[MeV\].
pub const PAIR_THRESHOLD_MEV: f64 = 2.0 * ELECTRON_MASS_MEV;

/// One MeV in joules [J/MeV] (exact, SI 2019).
pub const JOULE_PER_MEV: f64 = 1.602_176_634e-13;

/// Avogadro constant [1/mol] (exact, SI 2019).
pub const AVOGADRO_PER_MOL: f64 = 6.022_140_76e23;

/// Conversion from a cross section in barn/atom and an atomic weight in g/mol to a mass
/// attenuation coefficient in cm^2/g: `mu/rho = sigma_barn * BARN_TO_CM2_PER_G / A`.
/// This is the factor used by NIST XCOM (N_A x 1e-24 cm^2/barn = 0.60221367 in XCOM 3.1,
/// which we keep so that our coefficients reproduce the published tables digit for digit).
pub const BARN_TO_CM2_PER_G: f64 = 0.602_213_67;

/// Classical electron radius r_e \[cm\] (CODATA 2018).
pub const CLASSICAL_ELECTRON_RADIUS_CM: f64 = 2.817_940_326_2e-13;

/// h c [keV Angstrom] (CODATA 2018); the momentum-transfer variable of the scattering
/// functions is `x = sin(theta/2) / lambda = E\[keV\] sin(theta/2) / HC_KEV_ANGSTROM` [1/Angstrom].
pub const HC_KEV_ANGSTROM: f64 = 12.398_419_843;

/// Millimetres per centimetre.
pub const MM_PER_CM: f64 = 10.0;

/// Kilograms per gram.
pub const KG_PER_G: f64 = 1e-3;

/// Cubic centimetres per cubic millimetre.
pub const CM3_PER_MM3: f64 = 1e-3;
