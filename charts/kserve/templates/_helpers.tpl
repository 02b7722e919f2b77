{{/* Labels on every object of the chart. */}}
{{- define "kserve.labels" -}}
app.kubernetes.io/name: kserve
app.kubernetes.io/part-of: kserve
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The controller pods' labels: the tutorial selects `app=kserve-controller`. */}}
{{- define "kserve.controllerSelectorLabels" -}}
app: kserve-controller
control-plane: kserve-controller-manager
{{- end }}

{{/* "registry/repository:tag" for (dict "root" $ "image" repository "tag" tag). */}}
{{- define "kserve.image" -}}
{{- $tag := .tag | default .root.Values.kserve.version | default .root.Chart.AppVersion -}}
{{- $registry := .root.Values.kserve.image.registry | trimSuffix "/" -}}
{{- if $registry -}}
{{ printf "%s/%s:%s" $registry .image $tag }}
{{- else -}}
{{ printf "%s:%s" .image $tag }}
{{- end -}}
{{- end }}

{{/* Pull policy for (dict "root" $ "policy" own-policy). */}}
{{- define "kserve.pullPolicy" -}}
{{- .policy | default .root.Values.kserve.image.pullPolicy -}}
{{- end }}

{{/* The deployment mode, refused with a reason when this distribution cannot serve it. */}}
{{- define "kserve.deploymentMode" -}}
{{- $mode := .Values.kserve.controller.deploymentMode -}}
{{- if has $mode (list "Serverless" "Knative") -}}
{{- fail (printf "kserve.controller.deploymentMode=%s needs Knative Serving, which this KServe does not install or use: set kserve.controller.deploymentMode=RawDeployment (or Standard)" $mode) -}}
{{- else if eq $mode "ModelMesh" -}}
{{- fail "kserve.controller.deploymentMode=ModelMesh needs the ModelMesh controller, which this KServe does not ship: set kserve.controller.deploymentMode=RawDeployment (or Standard)" -}}
{{- end -}}
{{- $mode -}}
{{- end }}

{{/* The Gateway HTTPRoutes attach to: kserveGateway, else <release namespace>/kserve-ingress-gateway. */}}
{{- define "kserve.ingressGateway" -}}
{{- .Values.kserve.controller.gateway.ingressGateway.kserveGateway | default (printf "%s/kserve-ingress-gateway" .Release.Namespace) -}}
{{- end -}}

{{/* The activator pods' labels. */}}
{{- define "kserve.activatorSelectorLabels" -}}
app: kserve-activator
{{- end }}

{{/* The activator's cluster DNS name ("" when disabled): the ConfigMap's activator.host. */}}
{{- define "kserve.activatorHost" -}}
{{- if .Values.kserve.activator.enabled -}}
{{- printf "kserve-activator.%s.svc.cluster.local" .Release.Namespace -}}
{{- end -}}
{{- end }}
