//! PNG encoding of the rendered pixels, through the `png` crate.
//!
//! The settings are fixed here rather than left to the crate's defaults (which may change from
//! one of its versions to the next), and the encoder writes no ancillary chunks (no time stamp,
//! no text), so the bytes depend only on the pixels: the same plot gives the same file on every
//! run. Another version of `png` or of the zlib backend in `Cargo.lock` may compress differently;
//! the decoded pixels stay the same.

use anyhow::Context;

/// Deflate level of the image data; 6 is zlib's default, a good size for the time it takes.
const DEFLATE_LEVEL: u8 = 6;

/// Encodes 8-bit RGB pixels, row after row, as a PNG of `(width, height)`: IHDR, IDAT and IEND.
/// Each row takes the filter that suits it best (flat areas become zeros, which deflate
/// compresses well); the choice depends only on the pixels, so the output stays deterministic.
pub(super) fn encode_png(pixels: &[u8], (width, height): (u32, u32)) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_deflate_compression(png::DeflateCompression::Level(DEFLATE_LEVEL));
    encoder.set_filter(png::Filter::Adaptive);
    let mut writer = encoder
        .write_header()
        .context("cannot encode the plot as PNG")?;
    writer
        .write_image_data(pixels)
        .context("cannot encode the plot as PNG")?;
    writer.finish().context("cannot encode the plot as PNG")?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chunk types of a PNG stream, in order (after the signature).
    fn chunk_types(bytes: &[u8]) -> Vec<String> {
        let mut types = Vec::new();
        let mut offset = 8;
        while offset < bytes.len() {
            let length = u32::from_be_bytes(bytes[offset..offset + 4].try_into().unwrap());
            types.push(String::from_utf8_lossy(&bytes[offset + 4..offset + 8]).into_owned());
            // Length, type, data and CRC.
            offset += 12 + length as usize;
        }
        types
    }

    #[test]
    fn png_encoding_round_trips() {
        let (width, height) = (5u32, 3u32);
        let pixels: Vec<u8> = (0..width * height * 3)
            .map(|byte| (byte * 37 % 256) as u8)
            .collect();
        let bytes = encode_png(&pixels, (width, height)).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(&bytes))
            .read_info()
            .unwrap();
        let mut decoded = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut decoded).unwrap();
        assert_eq!((info.width, info.height), (width, height));
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        assert_eq!(decoded, pixels);
    }

    #[test]
    fn encoding_depends_only_on_the_pixels() {
        let (width, height) = (40u32, 30u32);
        let pixels: Vec<u8> = (0..width * height * 3)
            .map(|byte| (byte / 7 % 256) as u8)
            .collect();
        let bytes = encode_png(&pixels, (width, height)).unwrap();
        assert_eq!(bytes, encode_png(&pixels, (width, height)).unwrap());
        assert_eq!(chunk_types(&bytes), ["IHDR", "IDAT", "IEND"]);
    }

    #[test]
    fn a_buffer_of_the_wrong_size_is_an_error() {
        assert!(encode_png(&[0; 10], (2, 2)).is_err());
    }
}
