package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"

	"github.com/examlane/examlane/lane"
)

// dicomwebBase is the DICOMweb endpoint's path.
const dicomwebBase = "/dicomweb"

// maxStowBytes bounds one STOW-RS request.
const maxStowBytes = 512 << 20

// STOW-RS failure reasons (PS3.18 / PS3.4 status codes).
const (
	failCannotUnderstand = 0xC000 // the part is not a DICOM file we can read
	failStudyMismatch    = 0xA900 // the instance's study differs from the URL's
	failDuplicate        = 0x0111 // the SOP instance exists with other bytes; the first is kept
	failProcessing       = 0x0110 // storage failed
)

// dicomweb routes /dicomweb/... by path segment.
func (s *Server) dicomweb(w http.ResponseWriter, r *http.Request) {
	seg := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, dicomwebBase), "/"), "/")
	if len(seg) == 0 || seg[0] != "studies" {
		s.writeError(w, r, fmt.Errorf("path: %w", lane.ErrNotFound))
		return
	}
	for _, uid := range []int{1, 3, 5} {
		if len(seg) > uid && !validUID(seg[uid]) {
			s.writeError(w, r, fmt.Errorf("malformed UID: %w", lane.ErrNotFound))
			return
		}
	}
	get := r.Method == http.MethodGet
	switch {
	case len(seg) == 1 && r.Method == http.MethodPost:
		s.stow(w, r, "")
	case len(seg) == 2 && r.Method == http.MethodPost:
		s.stow(w, r, seg[1])
	case len(seg) == 1 && get:
		s.qidoStudies(w, r)
	case len(seg) == 2 && get:
		s.wado(w, r, seg[1], "", "")
	case len(seg) == 3 && get && seg[2] == "series":
		s.qidoSeries(w, r, seg[1])
	case len(seg) == 3 && get && seg[2] == "instances":
		s.qidoInstances(w, r, seg[1], "")
	case len(seg) == 4 && get && seg[2] == "series":
		s.wado(w, r, seg[1], seg[3], "")
	case len(seg) == 5 && get && seg[2] == "series" && seg[4] == "instances":
		s.qidoInstances(w, r, seg[1], seg[3])
	case len(seg) == 6 && get && seg[2] == "series" && seg[4] == "instances":
		s.wado(w, r, seg[1], seg[3], seg[5])
	case len(seg) == 7 && get && seg[2] == "series" && seg[4] == "instances" && seg[6] == "rendered":
		s.rendered(w, r, seg[1], seg[3], seg[5])
	default:
		s.writeError(w, r, fmt.Errorf("%s on this path: %w", r.Method, lane.ErrNotFound))
	}
}

// dj is one DICOM JSON attribute.
func dj(vr string, values ...any) map[string]any {
	m := map[string]any{"vr": vr}
	var vs []any
	for _, v := range values {
		if s, ok := v.(string); ok && s == "" {
			continue
		}
		vs = append(vs, v)
	}
	if len(vs) > 0 {
		m["Value"] = vs
	}
	return m
}

// instanceURL is the WADO-RS URL of an instance.
func instanceURL(r *http.Request, study, series, sop string) string {
	return fmt.Sprintf("%s%s/studies/%s/series/%s/instances/%s", baseURL(r), dicomwebBase, study, series, sop)
}

// stow handles STOW-RS: each part stored byte for byte, idempotent by
// SOPInstanceUID within the tenant.
func (s *Server) stow(w http.ResponseWriter, r *http.Request, study string) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/related" || params["boundary"] == "" {
		s.writeError(w, r, lane.Invalidf("Content-Type must be multipart/related with a boundary"))
		return
	}
	if t := params["type"]; t != "" && t != "application/dicom" {
		w.Header().Set("Accept", `multipart/related; type="application/dicom"`)
		s.writeError(w, r, lane.Invalidf("multipart type must be application/dicom"))
		return
	}
	id := callerOf(r.Context())
	if err := s.allowCapture(r.Context()); err != nil {
		s.writeError(w, r, err)
		return
	}
	mr := multipart.NewReader(http.MaxBytesReader(w, r.Body, maxStowBytes), params["boundary"])
	var ok, failed []any
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				s.writeError(w, r, fmt.Errorf("STOW-RS: %w", errTooLarge))
				return
			}
			s.writeError(w, r, lane.Invalidf("STOW-RS: malformed multipart body"))
			return
		}
		data, err := io.ReadAll(p)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				s.writeError(w, r, fmt.Errorf("STOW-RS: %w", errTooLarge))
				return
			}
			s.writeError(w, r, lane.Invalidf("STOW-RS: malformed multipart body"))
			return
		}
		if ct := p.Header.Get("Content-Type"); ct != "" {
			if pmt, _, _ := mime.ParseMediaType(ct); pmt != "application/dicom" {
				failed = append(failed, map[string]any{"00081197": dj("US", failCannotUnderstand)})
				continue
			}
		}
		in, err := readDICOMInfo(data)
		if err != nil {
			item := map[string]any{"00081197": dj("US", failCannotUnderstand)}
			if validUID(in.SOPInstance) {
				item["00081155"] = dj("UI", in.SOPInstance)
				item["00081150"] = dj("UI", in.SOPClass)
			}
			failed = append(failed, item)
			continue
		}
		ref := map[string]any{"00081150": dj("UI", in.SOPClass), "00081155": dj("UI", in.SOPInstance)}
		if study != "" && in.Study != study {
			ref["00081197"] = dj("US", failStudyMismatch)
			failed = append(failed, ref)
			continue
		}
		reason, err := s.storeInstance(r.Context(), id, in, data)
		if err != nil {
			s.log.Error("store instance", "err", err)
			reason = failProcessing
		}
		if reason != 0 {
			ref["00081197"] = dj("US", reason)
			failed = append(failed, ref)
			continue
		}
		ref["00081190"] = dj("UR", instanceURL(r, in.Study, in.Series, in.SOPInstance))
		ok = append(ok, ref)
	}
	resp := map[string]any{}
	if study != "" {
		resp["00081190"] = dj("UR", baseURL(r)+dicomwebBase+"/studies/"+study)
	}
	if len(ok) > 0 {
		resp["00081199"] = map[string]any{"vr": "SQ", "Value": ok}
	}
	if len(failed) > 0 {
		resp["00081198"] = map[string]any{"vr": "SQ", "Value": failed}
	}
	status := http.StatusOK
	switch {
	case len(ok) == 0 && len(failed) == 0:
		s.writeError(w, r, lane.Invalidf("STOW-RS: no parts"))
		return
	case len(ok) == 0:
		status = http.StatusConflict
	case len(failed) > 0:
		status = http.StatusAccepted
	}
	writeJSON(w, status, dicomJSON, resp)
}

// storeInstance keeps an instance's bytes; it returns a failure reason
// (0 for stored or already stored with the same bytes).
func (s *Server) storeInstance(ctx context.Context, id identity, in dicomInfo, data []byte) (int, error) {
	reason := 0
	err := s.db.write(ctx, func(tx *sql.Tx) error {
		var err error
		reason, err = s.storeInstanceTx(ctx, tx, id, in, data)
		return err
	})
	return reason, err
}

// storeInstanceTx is storeInstance inside an open write transaction.
func (s *Server) storeInstanceTx(ctx context.Context, tx *sql.Tx, id identity, in dicomInfo, data []byte) (int, error) {
	sum := sha256.Sum256(data)
	var prior []byte
	err := tx.QueryRowContext(ctx, `SELECT sha256 FROM dicom_instances WHERE tenant=? AND sop_uid=?`, id.Tenant, in.SOPInstance).Scan(&prior)
	switch {
	case err == nil:
		if !bytes.Equal(prior, sum[:]) {
			return failDuplicate, nil
		}
		return 0, nil
	case !errors.Is(err, sql.ErrNoRows):
		return 0, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO dicom_instances(tenant, study_uid, series_uid, sop_uid, sop_class, transfer_syntax, patient_id, modality, study_date, laterality, size, sha256, data, stored, by_lane)
		VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		id.Tenant, in.Study, in.Series, in.SOPInstance, in.SOPClass, in.TransferSyntax, in.PatientID, in.Modality, in.StudyDate, in.Laterality,
		len(data), sum[:], data, s.clock.Now().UnixMilli(), id.Lane)
	return 0, err
}

// wado handles WADO-RS retrieval of a study, series or instance as
// multipart/related; type="application/dicom", bytes as stored.
func (s *Server) wado(w http.ResponseWriter, r *http.Request, study, series, sop string) {
	if a := r.Header.Get("Accept"); a != "" && !strings.Contains(a, "multipart/related") && !strings.Contains(a, "*/*") {
		s.writeError(w, r, fmt.Errorf("WADO-RS serves multipart/related; type=\"application/dicom\": %w", errNotAcceptable))
		return
	}
	q := `SELECT data FROM dicom_instances WHERE tenant=? AND study_uid=?`
	args := []any{callerOf(r.Context()).Tenant, study}
	if series != "" {
		q += ` AND series_uid=?`
		args = append(args, series)
	}
	if sop != "" {
		q += ` AND sop_uid=?`
		args = append(args, sop)
	}
	rows, err := s.db.r.QueryContext(r.Context(), q+` ORDER BY series_uid, sop_uid`, args...)
	if err != nil {
		s.writeError(w, r, unavailable(err))
		return
	}
	defer rows.Close()
	var mw *multipart.Writer
	n := 0
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			s.writeError(w, r, unavailable(err))
			return
		}
		if mw == nil {
			mw = multipart.NewWriter(w)
			w.Header().Set("Content-Type", `multipart/related; type="application/dicom"; boundary=`+mw.Boundary())
			w.WriteHeader(http.StatusOK)
		}
		pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}})
		if err != nil {
			return
		}
		if _, err := pw.Write(data); err != nil {
			return
		}
		n++
	}
	if err := rows.Err(); err != nil && mw == nil {
		s.writeError(w, r, unavailable(err))
		return
	}
	if mw == nil {
		s.writeError(w, r, fmt.Errorf("DICOM instance: %w", lane.ErrNotFound))
		return
	}
	mw.Close()
}

// rendered handles .../instances/{sop}/rendered: image/jpeg or 406.
func (s *Server) rendered(w http.ResponseWriter, r *http.Request, study, series, sop string) {
	if a := r.Header.Get("Accept"); a != "" && !strings.Contains(a, "image/jpeg") && !strings.Contains(a, "image/*") && !strings.Contains(a, "*/*") {
		s.writeError(w, r, fmt.Errorf("rendered serves image/jpeg: %w", errNotAcceptable))
		return
	}
	var data []byte
	err := s.db.r.QueryRowContext(r.Context(), `SELECT data FROM dicom_instances WHERE tenant=? AND study_uid=? AND series_uid=? AND sop_uid=?`,
		callerOf(r.Context()).Tenant, study, series, sop).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		s.writeError(w, r, fmt.Errorf("DICOM instance: %w", lane.ErrNotFound))
		return
	}
	if err != nil {
		s.writeError(w, r, unavailable(err))
		return
	}
	img, err := renderJPEG(data)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("render: %w", errCannotRender))
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Content-Length", strconv.Itoa(len(img)))
	w.Write(img)
}

// qidoParams reads QIDO-RS query parameters by keyword or tag.
func qidoParams(q url.Values, allowed map[string]string) (map[string]string, int, int, error) {
	out := map[string]string{}
	limit, offset := 1000, 0
	for k, vs := range q {
		v := vs[0]
		switch k {
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, 0, 0, lane.Invalidf("limit: want a number")
			}
			limit = min(n, 1000)
			continue
		case "offset":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, 0, 0, lane.Invalidf("offset: want a number")
			}
			offset = n
			continue
		case "includefield", "fuzzymatching":
			continue
		}
		col, ok := allowed[strings.ToUpper(k)]
		if !ok {
			return nil, 0, 0, lane.Invalidf("QIDO-RS parameter %q is not supported", truncate(k, 40))
		}
		out[col] = v
	}
	return out, limit, offset, nil
}

// checkDICOMJSONAccept refuses a QIDO request that cannot take JSON.
func checkDICOMJSONAccept(r *http.Request) error {
	if a := r.Header.Get("Accept"); a != "" && !strings.Contains(a, "json") && !strings.Contains(a, "*/*") {
		return fmt.Errorf("QIDO-RS serves application/dicom+json: %w", errNotAcceptable)
	}
	return nil
}

// qidoStudies handles GET /dicomweb/studies?PatientID=&StudyInstanceUID=.
func (s *Server) qidoStudies(w http.ResponseWriter, r *http.Request) {
	if err := checkDICOMJSONAccept(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	f, limit, offset, err := qidoParams(r.URL.Query(), map[string]string{
		"PATIENTID": "patient_id", "00100020": "patient_id",
		"STUDYINSTANCEUID": "study_uid", "0020000D": "study_uid",
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	where, args := qidoWhere(callerOf(r.Context()).Tenant, f)
	rows, err := s.db.r.QueryContext(r.Context(), `SELECT study_uid, max(patient_id), max(study_date), group_concat(DISTINCT modality), count(DISTINCT series_uid), count(*)
		FROM dicom_instances WHERE `+where+` GROUP BY study_uid ORDER BY study_uid LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		s.writeError(w, r, unavailable(err))
		return
	}
	defer rows.Close()
	out := []any{}
	for rows.Next() {
		var study, pid, date, mods string
		var nSeries, nInst int
		if err := rows.Scan(&study, &pid, &date, &mods, &nSeries, &nInst); err != nil {
			s.writeError(w, r, unavailable(err))
			return
		}
		var modVals []any
		for _, m := range strings.Split(mods, ",") {
			modVals = append(modVals, m)
		}
		out = append(out, map[string]any{
			"0020000D": dj("UI", study),
			"00100020": dj("LO", pid),
			"00080020": dj("DA", date),
			"00080061": dj("CS", modVals...),
			"00201206": dj("IS", nSeries),
			"00201208": dj("IS", nInst),
			"00081190": dj("UR", baseURL(r)+dicomwebBase+"/studies/"+study),
		})
	}
	writeJSON(w, http.StatusOK, dicomJSON, out)
}

// qidoWhere builds the tenant-scoped condition for QIDO filters.
func qidoWhere(tenant string, f map[string]string) (string, []any) {
	where := []string{"tenant = ?"}
	args := []any{tenant}
	for _, col := range stringsSorted(f) {
		where = append(where, col+" = ?")
		args = append(args, f[col])
	}
	return strings.Join(where, " AND "), args
}

// qidoSeries handles GET /dicomweb/studies/{study}/series.
func (s *Server) qidoSeries(w http.ResponseWriter, r *http.Request, study string) {
	if err := checkDICOMJSONAccept(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	f, limit, offset, err := qidoParams(r.URL.Query(), map[string]string{
		"SERIESINSTANCEUID": "series_uid", "0020000E": "series_uid", "MODALITY": "modality", "00080060": "modality",
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f["study_uid"] = study
	where, args := qidoWhere(callerOf(r.Context()).Tenant, f)
	rows, err := s.db.r.QueryContext(r.Context(), `SELECT series_uid, max(modality), count(*) FROM dicom_instances WHERE `+where+
		` GROUP BY series_uid ORDER BY series_uid LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		s.writeError(w, r, unavailable(err))
		return
	}
	defer rows.Close()
	out := []any{}
	for rows.Next() {
		var series, mod string
		var n int
		if err := rows.Scan(&series, &mod, &n); err != nil {
			s.writeError(w, r, unavailable(err))
			return
		}
		out = append(out, map[string]any{
			"0020000D": dj("UI", study),
			"0020000E": dj("UI", series),
			"00080060": dj("CS", mod),
			"00201209": dj("IS", n),
			"00081190": dj("UR", baseURL(r)+dicomwebBase+"/studies/"+study+"/series/"+series),
		})
	}
	writeJSON(w, http.StatusOK, dicomJSON, out)
}

// qidoInstances handles GET .../studies/{study}[/series/{series}]/instances.
func (s *Server) qidoInstances(w http.ResponseWriter, r *http.Request, study, series string) {
	if err := checkDICOMJSONAccept(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	f, limit, offset, err := qidoParams(r.URL.Query(), map[string]string{
		"SOPINSTANCEUID": "sop_uid", "00080018": "sop_uid", "SOPCLASSUID": "sop_class", "00080016": "sop_class",
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f["study_uid"] = study
	if series != "" {
		f["series_uid"] = series
	}
	where, args := qidoWhere(callerOf(r.Context()).Tenant, f)
	rows, err := s.db.r.QueryContext(r.Context(), `SELECT series_uid, sop_uid, sop_class, transfer_syntax, modality, laterality, patient_id FROM dicom_instances WHERE `+where+
		` ORDER BY series_uid, sop_uid LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		s.writeError(w, r, unavailable(err))
		return
	}
	defer rows.Close()
	out := []any{}
	for rows.Next() {
		var se, sop, class, ts, mod, lat, pid string
		if err := rows.Scan(&se, &sop, &class, &ts, &mod, &lat, &pid); err != nil {
			s.writeError(w, r, unavailable(err))
			return
		}
		out = append(out, map[string]any{
			"0020000D": dj("UI", study),
			"0020000E": dj("UI", se),
			"00080018": dj("UI", sop),
			"00080016": dj("UI", class),
			"00083002": dj("UI", ts),
			"00080060": dj("CS", mod),
			"00200062": dj("CS", lat),
			"00100020": dj("LO", pid),
			"00081190": dj("UR", instanceURL(r, study, se, sop)),
		})
	}
	writeJSON(w, http.StatusOK, dicomJSON, out)
}
