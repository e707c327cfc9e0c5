{{/* The release's base name, cut to the 63 characters Kubernetes allows. */}}
{{- define "streamformer.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "streamformer.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "streamformer.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: processor
{{- end -}}

{{- define "streamformer.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Kafka client settings every Streamformer pod shares: brokers, SASL and TLS through mounted Secrets. */}}
{{- define "streamformer.kafkaProperties" -}}
bootstrap.servers={{ required "kafka.bootstrapServers is required" .Values.kafka.bootstrapServers }}
{{- if or .Values.security.sasl.enabled .Values.security.tls.enabled }}
config.providers=dir
config.providers.dir.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider
security.protocol={{ if .Values.security.sasl.enabled }}SASL_{{ end }}{{ if .Values.security.tls.enabled }}SSL{{ else }}PLAINTEXT{{ end }}
{{- end }}
{{- if .Values.security.sasl.enabled }}
sasl.mechanism={{ .Values.security.sasl.mechanism }}
{{- if hasPrefix "SCRAM" .Values.security.sasl.mechanism }}
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${dir:/etc/streamformer/sasl:{{ .Values.security.sasl.usernameKey }}}" password="${dir:/etc/streamformer/sasl:{{ .Values.security.sasl.passwordKey }}}";
{{- else }}
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${dir:/etc/streamformer/sasl:{{ .Values.security.sasl.usernameKey }}}" password="${dir:/etc/streamformer/sasl:{{ .Values.security.sasl.passwordKey }}}";
{{- end }}
{{- end }}
{{- if .Values.security.tls.enabled }}
ssl.truststore.type=PKCS12
ssl.truststore.location=/etc/streamformer/tls/{{ .Values.security.tls.truststoreKey }}
ssl.truststore.password=${dir:/etc/streamformer/tls:{{ .Values.security.tls.truststorePasswordKey }}}
{{- end }}
{{- end -}}

{{/* The Secret volumes and mounts of SASL and TLS. */}}
{{- define "streamformer.secretVolumes" -}}
{{- if .Values.security.sasl.enabled }}
- name: sasl
  secret:
    secretName: {{ required "security.sasl.existingSecret is required with security.sasl.enabled" .Values.security.sasl.existingSecret }}
{{- end }}
{{- if .Values.security.tls.enabled }}
- name: tls
  secret:
    secretName: {{ required "security.tls.existingSecret is required with security.tls.enabled" .Values.security.tls.existingSecret }}
{{- end }}
{{- end -}}

{{- define "streamformer.secretMounts" -}}
{{- if .Values.security.sasl.enabled }}
- name: sasl
  mountPath: /etc/streamformer/sasl
  readOnly: true
{{- end }}
{{- if .Values.security.tls.enabled }}
- name: tls
  mountPath: /etc/streamformer/tls
  readOnly: true
{{- end }}
{{- end -}}
