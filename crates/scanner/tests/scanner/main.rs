//! The scanner as a caller uses it: the starter lexicon, evasions, allowed phrases, lexicon files
//! put in force whole or not at all, and the properties of positions.

mod lexicons;
mod properties;
mod scanning;
