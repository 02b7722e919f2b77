{{/* Labels on every CRD: who manages it and which chart version wrote it. */}}
{{- define "kserve-crd.labels" -}}
app.kubernetes.io/name: kserve-crd
app.kubernetes.io/part-of: kserve
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}
