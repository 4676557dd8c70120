pub(crate) mod api;
pub(crate) mod resident;
