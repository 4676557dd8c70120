//! The portal's own database (never pay's): cities, bill types and bills,
//! the payments started for them, residents, staff, refund requests and
//! autopay runs. No column holds card data.

pub mod autopay;
pub mod back_office;
pub mod bill_import;
pub mod bill_payments;
pub mod bill_types;
pub mod bills;
pub mod city_files;
pub mod refund_requests;
pub mod residents;
pub mod staff;
pub mod tenants;
