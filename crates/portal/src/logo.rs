//! A city's logo as an administrator uploads it: decoded (PNG, JPEG or GIF
//! only, with bounds on size and pixels before any pixel is allocated),
//! scaled to fit the header and written out again as PNG. Re-encoding keeps
//! only pixels, so whatever rode along in the upload (metadata, trailing
//! bytes, a script in a polyglot file) is never served from the portal.
//!
//! The `image` crate does the decoding and encoding: image formats are not
//! our domain, and it is the maintained, fuzzed Rust codec collection.

use civicpay_core::{LogoDigest, ParseError};
use image::{ImageFormat, ImageReader, Limits, imageops::FilterType};
use sha2::{Digest, Sha256};
use std::io::Cursor;

/// The largest file taken.
pub const MAX_UPLOAD_BYTES: usize = 1024 * 1024;
/// The widest or tallest image decoded; a larger one is refused unread.
pub const MAX_SIDE: u32 = 4000;
/// What a served logo fits within: three times the header's 48 px height,
/// so it stays sharp on high-density screens.
pub const SERVED_BOX: (u32, u32) = (480, 144);

/// A logo ready to store: its PNG and the digest it is served under.
#[derive(Debug, Clone)]
pub struct Logo {
    pub digest: LogoDigest,
    pub png: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Decodes, bounds, scales and re-encodes an upload; what is refused says
/// why in words an administrator can act on.
pub fn prepare(upload: &[u8]) -> Result<Logo, ParseError> {
    if upload.is_empty() {
        return Err(ParseError::Missing);
    }
    if upload.len() > MAX_UPLOAD_BYTES {
        return Err(ParseError::Invalid(format!(
            "is {} KB; the largest logo taken is {} KB",
            upload.len().div_ceil(1024),
            MAX_UPLOAD_BYTES / 1024
        )));
    }
    let not_an_image = || ParseError::Invalid("is not a PNG, JPEG or GIF image".to_owned());
    let mut reader = ImageReader::new(Cursor::new(upload))
        .with_guessed_format()
        .map_err(|_| not_an_image())?;
    if !matches!(
        reader.format(),
        Some(ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif)
    ) {
        return Err(not_an_image());
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(128 * 1024 * 1024);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => ParseError::Invalid(format!(
            "is larger than {MAX_SIDE} × {MAX_SIDE} pixels; make it smaller"
        )),
        _ => {
            ParseError::Invalid("could not be read as an image: the file may be damaged".to_owned())
        }
    })?;
    let (box_w, box_h) = SERVED_BOX;
    let fitted = if decoded.width() > box_w || decoded.height() > box_h {
        decoded.resize(box_w, box_h, FilterType::Lanczos3)
    } else {
        decoded
    };
    let image = fitted.to_rgba8();
    let mut png = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .map_err(|_| ParseError::Invalid("could not be written as PNG".to_owned()))?;
    let digest: String = Sha256::digest(&png)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Logo {
        digest: LogoDigest::parse(&digest)?,
        width: image.width(),
        height: image.height(),
        png,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use image::{Rgba, RgbaImage};

    fn encoded(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
        let image = RgbaImage::from_fn(width, height, |x, y| {
            Rgba([(x % 256) as u8, (y % 256) as u8, 90, 255])
        });
        let mut out = Vec::new();
        let image = image::DynamicImage::ImageRgba8(image);
        let image = if format == ImageFormat::Jpeg {
            image::DynamicImage::ImageRgb8(image.to_rgb8())
        } else {
            image
        };
        image.write_to(&mut Cursor::new(&mut out), format).unwrap();
        out
    }

    #[test]
    fn a_small_png_is_kept_at_its_size_and_re_encoded() {
        let mut upload = encoded(200, 60, ImageFormat::Png);
        // Bytes after the image's end: re-encoding drops them.
        upload.extend_from_slice(b"<script>alert(1)</script>");
        let logo = prepare(&upload).unwrap();
        assert_eq!((logo.width, logo.height), (200, 60));
        assert!(logo.png.starts_with(b"\x89PNG"));
        assert!(!logo.png.windows(8).any(|w| w == b"<script>"));
        assert_eq!(
            prepare(&upload).unwrap().digest,
            logo.digest,
            "same pixels, same name"
        );
    }

    #[test]
    fn jpeg_and_gif_become_png_and_a_large_one_is_scaled_to_fit() {
        let logo = prepare(&encoded(1600, 400, ImageFormat::Jpeg)).unwrap();
        assert!(logo.png.starts_with(b"\x89PNG"));
        assert_eq!((logo.width, logo.height), (480, 120), "aspect kept");
        let logo = prepare(&encoded(100, 300, ImageFormat::Gif)).unwrap();
        assert_eq!((logo.width, logo.height), (48, 144));
    }

    #[test]
    fn what_is_not_an_image_or_is_too_large_is_refused_with_why() {
        let message = |bytes: &[u8]| prepare(bytes).unwrap_err().to_string();
        assert_eq!(prepare(b"").unwrap_err(), ParseError::Missing);
        assert!(message(b"%PDF-1.7 not a logo").contains("not a PNG, JPEG or GIF"));
        assert!(message(b"<svg xmlns='http://www.w3.org/2000/svg'/>").contains("not a PNG"));
        let mut bmp = b"BM".to_vec();
        bmp.extend_from_slice(&[0; 60]);
        assert!(
            message(&bmp).contains("not a PNG"),
            "a format we do not take"
        );
        let mut cut = encoded(200, 60, ImageFormat::Png);
        cut.truncate(cut.len() / 2);
        assert!(message(&cut).contains("damaged"));
        let big = vec![0u8; MAX_UPLOAD_BYTES + 1];
        assert!(message(&big).contains("largest logo taken is 1024 KB"));
        // Few bytes, many pixels: refused from the header, before decoding.
        let wide = encoded(MAX_SIDE + 1, 1, ImageFormat::Png);
        assert!(wide.len() < MAX_UPLOAD_BYTES);
        assert!(message(&wide).contains("larger than 4000"));
    }
}
