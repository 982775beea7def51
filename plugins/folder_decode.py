"""How ``image_folder`` decodes one file: its format's bit depth, the recipe's channels, alpha and size.

A file is decoded as stored (PNG at 8 or 16 bits, any other format at 8 bits) into
floats on the 0..255 scale: a 16-bit value v becomes v * 255 / 65535, so the full
16-bit range maps onto the full 8-bit one (an 8-bit PNG comes back exactly). The colour
is then made grayscale (ITU-R 601 luma) or RGB, its alpha (if any) composited onto the
background colour or kept as the last channel, the image cropped to the target's aspect
ratio around its centre (or stretched) and resized with antialiased bilinear
interpolation, and rounded once, at the end, to uint8.
"""

from __future__ import annotations

import dataclasses

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Weights of ``tf.image.rgb_to_grayscale`` (ITU-R 601 luma), for the background of a grayscale output.
LUMA = (0.2989, 0.5870, 0.1140)


def read(path):
    """One file as stored: float32 (height, width, 1 to 4 channels) on the 0..255 scale."""
    import tensorflow as tf

    contents = tf.io.read_file(path)

    def png():  # 8- or 16-bit; an 8-bit value x comes as x * 257 and goes back to x
        return tf.cast(tf.io.decode_png(contents, channels=0, dtype=tf.uint16), tf.float32) * 255.0 / 65535.0

    def other():
        image = tf.io.decode_image(contents, channels=0, dtype=tf.uint8, expand_animations=False)
        return tf.cast(image, tf.float32)

    return tf.cond(tf.strings.substr(contents, 0, len(PNG_SIGNATURE)) == PNG_SIGNATURE, png, other)


@dataclasses.dataclass(frozen=True)
class Decoding:
    """One folder's decoding: output ``size`` (height, width), ``channels`` 1 to 4, and how to get there."""

    size: tuple  #: (height, width) of every output image
    native: bool  #: the images keep their own size (which must be ``size``): no crop, no resize
    channels: int  #: 1 gray, 2 gray and alpha, 3 RGB, 4 RGBA
    fit: str  #: ``crop`` or ``stretch``
    background: tuple  #: (r, g, b), 0..255, that transparent pixels are composited onto (channels 1 and 3)

    def decode(self, path):
        """One file as the recipe wants it: uint8 (height, width, channels)."""
        import tensorflow as tf

        raw = read(path)
        stored = tf.shape(raw)[-1]
        has_alpha = stored % 2 == 0  # gray and alpha, or RGBA
        color = raw[..., : tf.where(stored >= 3, 3, 1)]
        alpha = tf.where(has_alpha, raw[..., -1:], 255.0)
        if self.channels >= 3:
            color = tf.cond(tf.shape(color)[-1] == 1, lambda: tf.tile(color, [1, 1, 3]), lambda: color)
        else:
            color = tf.cond(tf.shape(color)[-1] == 3, lambda: tf.image.rgb_to_grayscale(color), lambda: color)
        if self.channels % 2 == 0:
            image = tf.concat([color, alpha], -1)
        else:  # over the background; an opaque pixel (alpha 255) keeps its colour exactly
            background = tf.constant([self.background], tf.float32)
            if self.channels == 1:
                background = tf.reduce_sum(background * LUMA, -1, keepdims=True)
            opacity = alpha / 255.0
            image = color * opacity + background * (1.0 - opacity)
        height, width = self.size
        if not self.native:  # at the images' own size, one of another size fails ensure_shape: the scan reports it
            if self.fit == "crop":
                h, w = tf.shape(image)[0], tf.shape(image)[1]
                # the largest centred box with the target's aspect ratio
                crop_h = tf.minimum(h, tf.cast(tf.round(tf.cast(w * height, tf.float32) / width), tf.int32))
                crop_w = tf.minimum(w, tf.cast(tf.round(tf.cast(h * width, tf.float32) / height), tf.int32))
                image = tf.image.crop_to_bounding_box(image, (h - crop_h) // 2, (w - crop_w) // 2, crop_h, crop_w)
            image = tf.image.resize(image, (height, width), method="bilinear", antialias=True)
        image = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
        return tf.ensure_shape(image, (height, width, self.channels))
