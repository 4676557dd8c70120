pub(crate) mod api;
pub(crate) mod crediting;
pub(crate) mod resident;
