#!/usr/bin/env bash
# Regenerates the DICOM and WebP fixtures in this directory from synthetic
# source images (see README.md). Needs Go, dcmtk (img2dcm, dcmdjpeg,
# dcmconv, dcmcjpeg, dcmcjpls, dcmodify, dcmdump) and ImageMagick
# (convert, for WebP and the JPEG 2000 codestream). Run from this
# directory: `go generate ./devices/imaging` does that.
set -euo pipefail
cd "$(dirname "$0")"

for t in img2dcm dcmdjpeg dcmconv dcmcjpeg dcmcjpls dcmodify dcmdump convert; do
	command -v "$t" >/dev/null || { echo "gen.sh: $t not found; install dcmtk and imagemagick" >&2; exit 1; }
done

go run ./mksrc/main.go

# Synthetic identity and acquisition attributes shared by the OP files.
OP_KEYS=(
	-k "Modality=OP" -k "ImageLaterality=R" -k "PatientEyeMovementCommanded=NO"
	-k "PatientName=TEST^SYNTHETIC" -k "PatientID=SYN-0001"
	-k "StudyDate=20240314" -k "StudyTime=101500"
	-k "AcquisitionDateTime=20240314101502.250000"
	-k "ImageType=ORIGINAL\\PRIMARY\\\\COLOR"
	-k "PixelSpacing=0.0125\\0.0125"
	-k "Manufacturer=SYNTHETIC" -k "ManufacturerModelName=GEN.SH"
	-k "StudyInstanceUID=1.2.826.0.1.3680043.10.1453.1"
	-k "SeriesInstanceUID=1.2.826.0.1.3680043.10.1453.1.1"
	-k "AcquisitionDeviceTypeCodeSequence[0].CodeValue=R-1021A"
	-k "AcquisitionDeviceTypeCodeSequence[0].CodingSchemeDesignator=SRT"
	-k "AcquisitionDeviceTypeCodeSequence[0].CodeMeaning=Fundus Camera"
	-k "AnatomicRegionSequence[0].CodeValue=T-AA000"
	-k "AnatomicRegionSequence[0].CodingSchemeDesignator=SRT"
	-k "AnatomicRegionSequence[0].CodeMeaning=Eye"
)

# 1. JPEG baseline, the camera's own JPEG stream (not recompressed).
img2dcm -q -oph "${OP_KEYS[@]}" -k "SOPInstanceUID=1.2.826.0.1.3680043.10.1453.1.1.1" src_rgb.jpg op_jpeg_baseline.dcm
# 2. Native RGB: explicit LE interleaved, explicit LE planar, implicit LE, explicit BE.
dcmdjpeg -q +te +px op_jpeg_baseline.dcm op_native_rgb_explicit.dcm
dcmdjpeg -q +te +pl op_jpeg_baseline.dcm op_native_rgb_planar.dcm
dcmconv -q +ti op_native_rgb_explicit.dcm op_native_rgb_implicit.dcm
dcmconv -q +tb op_native_rgb_explicit.dcm op_native_rgb_bigendian.dcm
# 3. Lossless encodings the lane cannot render.
dcmcjpeg -q --encode-lossless-sv1 op_native_rgb_explicit.dcm op_jpeg_lossless.dcm
dcmcjpls -q op_native_rgb_explicit.dcm op_jpegls.dcm
# 4. Monochrome 8-bit (red-free): JPEG baseline and native.
img2dcm -q -oph "${OP_KEYS[@]}" -k "ImageType=ORIGINAL\\PRIMARY\\\\REDFREE" -k "ImageLaterality=L" \
	-k "SOPInstanceUID=1.2.826.0.1.3680043.10.1453.1.1.2" src_gray.jpg op_mono8_jpeg.dcm
dcmdjpeg -q +te op_mono8_jpeg.dcm op_mono8_native.dcm
# The same stored values declared MONOCHROME1 (0 is white): a decoder
# must show the negative.
cp op_mono8_native.dcm op_mono1_native.dcm
dcmodify -q -nb -m "PhotometricInterpretation=MONOCHROME1" op_mono1_native.dcm
# 5. Monochrome 16-bit (12 stored), with and without a VOI window, and an
#    implicit-VR copy made by dcmtk from ours.
go run ./mkdcm/main.go mono16 op_mono16_window.dcm yes
go run ./mkdcm/main.go mono16 op_mono16_minmax.dcm no
dcmconv -q +ti op_mono16_window.dcm op_mono16_window_implicit.dcm
# 6. JPEG 2000: dcmtk 3.6.7 has no JPEG 2000 codec (no dcmcjp2k), so
#    ImageMagick (OpenJPEG) makes a lossless codestream and mkdcm wraps it.
convert src_rgb.png -quality 0 j2k:tmp_src.j2k
go run ./mkdcm/main.go j2k tmp_src.j2k op_j2k.dcm >/dev/null
rm -f tmp_src.j2k
# 7. dcmtk's own renderings, the references for the native files: RGB as
#    stored, and the 16-bit file through its first VOI window.
dcm2pnm -q +on op_native_rgb_explicit.dcm ref_native_rgb_dcmtk.png
dcm2pnm -q +on +Wi 1 op_mono16_window.dcm ref_mono16_window_dcmtk.png
dcm2pnm -q +on +Wm op_mono16_minmax.dcm ref_mono16_minmax_dcmtk.png
# 8. WebP, lossless and lossy (Go has a WebP decoder but no encoder).
convert src_rgb.png -define webp:lossless=true src_rgb_lossless.webp
convert src_rgb.png -quality 90 src_rgb_lossy.webp

for f in *.dcm; do dcmdump -q "$f" >/dev/null || { echo "gen.sh: dcmdump rejects $f" >&2; exit 1; }; done
ls -l *.dcm *.webp *.png *.jpg
