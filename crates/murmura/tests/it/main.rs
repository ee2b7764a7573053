//! Features that cross crates, tested through the facade with public API
//! only, as an application uses them.

mod cluster;
