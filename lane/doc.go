// Package lane is the domain of an optometry exam lane: patients,
// appointments, encounters and their lifecycle, the measurements instruments
// and clinicians produce, prescriptions, roles and permissions, and the audit
// event model. It imports only the standard library; every other package of
// Examlane depends on it and none of its types carries storage or wire tags.
//
// Units are types. Optical powers are Diopters, stored as exact integer
// thousandths of a dioptre so that clinical steps (0.25 D), device steps
// (0.125 D, 0.01 D) and tolerance boundaries (±0.13 D) compare exactly; axes
// are Axis values normalised to 1..180 (0 ≡ 180); lengths are Millimeters in
// hundredths of a millimetre; prism is PrismDiopters in thousandths.
//
// Encounter lifecycle:
//
//	scheduled → checked-in → pretest → exam → dispensing → done
//
// An exam signed by an optometrist is immutable; later changes are addenda.
package lane
